"""Is the live input usable?  A muted microphone and a clipping one, told apart from quiet rooms.

Two faults users meet most with a live microphone, and neither shows in the emotion
results: a muted or dead input sends digital silence (the app would just wait for
speech forever), and an input gain set too high flattens the loud peaks, which
changes the very spectra the model reads (clipped speech is misread as angry or
disgusted).  :class:`InputHealth` is fed every block and says when the state changes,
once per episode, so a front end can show it without repeating it every block.
Pure NumPy; the pipeline runs it on live sources only (a recording may well hold
digital silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILENT = "silent"
CLIPPING = "clipping"


@dataclass
class InputHealthConfig:
    #: RMS under this is digital silence: a real microphone in a quiet room sits 30 dB or more above it.
    silent_dbfs: float = -90.0
    silent_seconds: float = 3.0
    #: A sample this close to full scale counts as clipped (after resampling, flat tops overshoot a little).
    clip_level: float = 0.98
    #: Clipping is reported when more than this share of the last ``clip_window_s`` is clipped.
    clip_share: float = 0.002
    clip_window_s: float = 2.0


class InputHealth:
    """``feed(block)`` -> new ``(level, message)`` pairs; :attr:`problem` is the current fault or None."""

    def __init__(self, sample_rate: int, config: InputHealthConfig | None = None):
        self.sample_rate = sample_rate
        self.config = config or InputHealthConfig()
        self.problem: str | None = None
        self._silent_samples = 0
        # clipped-sample counts of the blocks in the sliding window: (samples, clipped)
        self._window: list[tuple[int, int]] = []
        self._window_samples = 0
        self._window_clipped = 0

    def feed(self, block: np.ndarray) -> list[tuple[str, str]]:
        cfg = self.config
        n = int(block.size)
        if n == 0:
            return []
        # about its mean: a dead input stuck at a DC offset is as silent as one at zero
        ac_rms = float(np.std(block, dtype=np.float64))
        silent = ac_rms <= 10.0 ** (cfg.silent_dbfs / 20.0)
        self._silent_samples = self._silent_samples + n if silent else 0
        clipped = int(np.count_nonzero(np.abs(block) >= cfg.clip_level))
        self._window.append((n, clipped))
        self._window_samples += n
        self._window_clipped += clipped
        limit = cfg.clip_window_s * self.sample_rate
        while self._window_samples - self._window[0][0] >= limit:
            old_n, old_clipped = self._window.pop(0)
            self._window_samples -= old_n
            self._window_clipped -= old_clipped
        share = self._window_clipped / self._window_samples
        full_window = self._window_samples >= 0.9 * limit

        if self._silent_samples >= cfg.silent_seconds * self.sample_rate:
            state = SILENT
        elif full_window and share > cfg.clip_share:
            state = CLIPPING
        elif self.problem == CLIPPING and share > cfg.clip_share / 4:
            state = CLIPPING  # hysteresis: a few clean blocks in a loud passage do not end it
        else:
            state = None
        if state == self.problem:
            return []
        previous, self.problem = self.problem, state
        if state == SILENT:
            return [("warning", f"the input is silent (a flat signal for {cfg.silent_seconds:.0f} s): "
                                "is the microphone muted or unplugged?")]
        if state == CLIPPING:
            return [("warning", f"the input is clipping ({share:.1%} of samples at full scale): lower the "
                                "microphone's input gain; clipped speech is misread")]
        if previous == SILENT:
            return [("info", "the input is live again")]
        return [("info", "the input level is back within range")]


def describe(problem: str | None) -> str:
    """A short line for a level meter ("" when the input is fine)."""
    if problem == SILENT:
        return "Input silent: muted or unplugged?"
    if problem == CLIPPING:
        return "Input clipping: lower the gain"
    return ""
