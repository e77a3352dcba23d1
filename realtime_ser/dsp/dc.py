"""DC offset removal (pure functions).

A DC offset (cheap USB microphones and some laptop codecs have one) is not sound. Counted as energy
it lifts the VAD's noise floor over soft speech; in the features it leaks through the analysis
window into the lowest mel bands, so the model's answer would depend on the sound card.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import detrend, lfilter

#: Pole of the DC blocker: a high-pass at about 13 Hz at 16 kHz, far below any voice.
DC_POLE = 0.995
_DC_B = np.array([1.0, -1.0])


def remove_dc(x: np.ndarray, state: float | None = None, pole: float = DC_POLE) -> tuple[np.ndarray, float | None]:
    """One-pole DC blocker ``y[n] = x[n] - x[n-1] + pole * y[n-1]``; returns ``(y, state)``.

    For a stream: pass the returned ``state`` with the next block and the output does not depend on
    how the stream was chunked; ``None`` starts from the first sample as if it had always been there
    (no step at the start).
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return x, state
    zi = np.array([-float(x[0]) if state is None else state])
    y, zf = lfilter(_DC_B, np.array([1.0, -pole]), x, zi=zi)
    return y.astype(np.float32), float(zf[0])


def without_dc(x: np.ndarray) -> np.ndarray:
    """A whole window without its DC: its straight-line trend taken out (a constant offset exactly, and
    one that drifts as the card warms up), then the blocker for what bends.  The trend goes first so
    that the blocker starts at rest: started on an offset it would make a step at the window's start."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size < 2:
        return np.zeros_like(x)
    return remove_dc(detrend(x, type="linear").astype(np.float32), 0.0)[0]
