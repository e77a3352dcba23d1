"""Where speech really starts and ends in a studio clip: the reference the VAD is measured against.

``tools/bench_latency.py`` times the live path from it and scores the VAD on it, and
``tests/test_vad.py`` checks the VAD against it; it lives here, not in the tests, so that a
benchmark runs without the test suite (nor pytest) installed.

The reference: frame energies (10 ms) smoothed over 50 ms; speech = runs of at least 50 ms within
40 dB of the clip's peak (and above -60 dBFS); the utterance spans the first such run's start to
the last one's end.
"""

from __future__ import annotations

import numpy as np

from realtime_ser.dsp.vad import EnergyVAD, VADConfig, VADEvent, frame_energies_db

SR = 16000


def vad_events(signal: np.ndarray, block: int = 320, config: VADConfig | None = None) -> list[VADEvent]:
    """The streaming VAD's events for ``signal`` (16 kHz) fed in ``block``-sample blocks, then flushed."""
    vad = EnergyVAD(SR, config)
    events = []
    for i in range(0, signal.size, block):
        events += vad.process(signal[i : i + block])
    return events + vad.flush()


def reference_span(x: np.ndarray) -> tuple[float, float]:
    """Start and end in seconds of the speech in ``x`` (16 kHz), as the module docstring says."""
    e = frame_energies_db(x[: x.size // 160 * 160].reshape(-1, 160))
    p = np.convolve(10 ** (e / 10), np.ones(5) / 5, "same")
    e = 10 * np.log10(p + 1e-12)
    loud = e > max(e.max() - 40.0, -60.0)
    runs, i = [], 0
    while i < loud.size:
        if loud[i]:
            j = i
            while j < loud.size and loud[j]:
                j += 1
            if j - i >= 5:
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs[0][0] * 0.01, runs[-1][1] * 0.01


if __name__ == "__main__":  # a library: run by hand, it says so rather than exit 0 having done nothing
    raise SystemExit("error: tools/vad_reference.py is a library module, not a command; "
                     "run python tools/bench_latency.py --vad-accuracy (see its --help)")
