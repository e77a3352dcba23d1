"""A session's pitch reference: the mean F0 level of the speech scored so far.

Models with ``FeatureParams.pitch_session`` read a window's log-F0 relative to
the speaker's usual level, not the window's own (which would remove the level
an emotion adds) nor an absolute one (which would read a high voice as
excitement).  Training takes each speaker's mean over their clips; live, the
speaker is whoever the session has heard, so the reference is the running mean
of the levels of the finished utterances' windows.  Until a few windows are in,
there is none (NaN) and a window falls back to its own level, as the model
also saw in training.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class SpeakerPitchReference:
    """Running mean F0 level (see :func:`realtime_ser.dsp.features.f0_levels`) of a session's windows.

    ``min_windows``: windows before there is a reference (a couple of utterances); ``max_windows``: the
    most recent windows it averages, so that a new speaker takes over within a few minutes of speech.
    """

    def __init__(self, min_windows: int = 4, max_windows: int = 400):
        if not 1 <= min_windows <= max_windows:
            raise ValueError("need 1 <= min_windows <= max_windows")
        self.min_windows = min_windows
        self._levels: deque[float] = deque(maxlen=max_windows)

    def update(self, levels: np.ndarray) -> None:
        """Add the F0 levels of a finished utterance's windows (non-finite ones are ignored)."""
        for v in np.ravel(levels):
            if np.isfinite(v):
                self._levels.append(float(v))

    @property
    def windows(self) -> int:
        return len(self._levels)

    @property
    def value(self) -> float:
        """The reference, NaN while fewer than ``min_windows`` windows are in."""
        return float(np.mean(self._levels)) if len(self._levels) >= self.min_windows else float("nan")

    def reset(self) -> None:
        """Forget the session (a new speaker or microphone)."""
        self._levels.clear()
