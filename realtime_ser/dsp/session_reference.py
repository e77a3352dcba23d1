"""A session's reference levels: the mean loudness and pitch of the speech scored so far.

Models with session references (``FeatureParams.session_level`` / ``pitch_session``)
read a window's loudness (c0) and log-F0 relative to the speaker's usual level,
not the window's own (which would remove the level an emotion adds) nor an
absolute one (which would read a high voice or a loud microphone as
excitement).  Training takes each speaker's mean over their clips; live, the
speaker is whoever the session has heard, through whatever microphone, so the
reference is the running mean of the levels of the finished utterances'
windows.  Until a few windows are in there is none (NaN) and a window falls back
to its own level, as the model also saw in training.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class SessionReference:
    """Running mean of ``size`` level values (see :func:`realtime_ser.dsp.features.session_levels`).

    ``min_windows``: windows before there is a reference (a couple of utterances); ``max_windows``: the
    most recent windows it averages, so that a new speaker takes over within a few minutes of speech.
    """

    def __init__(self, size: int, min_windows: int = 4, max_windows: int = 400):
        if not 1 <= min_windows <= max_windows:
            raise ValueError("need 1 <= min_windows <= max_windows")
        self.size = size
        self.min_windows = min_windows
        self._levels: deque[np.ndarray] = deque(maxlen=max_windows)

    def update(self, levels: np.ndarray) -> None:
        """Add the levels ``(windows, size)`` of a finished utterance (windows with a non-finite value are skipped)."""
        for row in np.asarray(levels, dtype=np.float64).reshape(-1, self.size):
            if np.all(np.isfinite(row)):
                self._levels.append(row)

    @property
    def windows(self) -> int:
        return len(self._levels)

    @property
    def value(self) -> np.ndarray:
        """The reference ``(size,)``, all NaN while fewer than ``min_windows`` windows are in."""
        if len(self._levels) < self.min_windows:
            return np.full(self.size, np.nan, dtype=np.float32)
        return np.mean(self._levels, axis=0).astype(np.float32)

    def reset(self) -> None:
        """Forget the session (a new speaker or microphone)."""
        self._levels.clear()
