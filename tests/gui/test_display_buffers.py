"""The preallocated ring buffers behind the scrolling views (no Qt), on real speech."""

import numpy as np

from realtime_ser.audio.io import load_audio
from realtime_ser.dsp.features import FeatureParams, log_mel_spectrogram
from realtime_ser.gui.display_buffers import MelSpectrogramRing, WaveformEnvelope

from .conftest import CLIPS

P = FeatureParams()


def _blocks(audio, sizes):
    pos, i = 0, 0
    while pos < audio.size:
        n = sizes[i % len(sizes)]
        yield audio[pos : pos + n]
        pos += n
        i += 1


def test_incremental_log_mel_equals_whole_signal():
    audio = load_audio(CLIPS / "ANG.wav", 16000)
    ring = MelSpectrogramRing(P, seconds=10.0)
    for block in _blocks(audio, [320, 17, 1600, 555]):  # odd block sizes on purpose
        ring.push(block)
    whole = log_mel_spectrogram(audio, P)
    assert ring.total_frames == whole.shape[0]
    image = ring.update_display()
    np.testing.assert_allclose(image[-whole.shape[0] :], whole, atol=1e-3)
    assert np.all(image[: -whole.shape[0]] == -100.0)  # the rest is still the silence fill
    hop = P.hop_length / P.sample_rate
    assert abs(ring.end_time - (whole.shape[0] * hop + (P.n_fft - P.hop_length) / 2 / 16000)) < 1e-9


def test_mel_ring_keeps_only_the_newest_frames():
    audio = np.concatenate([load_audio(CLIPS / f"{c}.wav", 16000) for c in ("SAD", "FEA", "NEU", "DIS")])
    ring = MelSpectrogramRing(P, seconds=2.0)
    for block in _blocks(audio, [800]):
        ring.push(block)
    whole = log_mel_spectrogram(audio, P)
    np.testing.assert_allclose(ring.update_display(), whole[-ring.frames :], atol=1e-3)


def test_waveform_envelope_min_max_and_time_axis():
    audio = load_audio(CLIPS / "HAP.wav", 16000)
    env = WaveformEnvelope(16000, seconds=1.0, columns=100)  # 160 samples per column
    for block in _blocks(audio, [333, 1000, 7]):
        env.push(block)
    x, y = env.update_display()
    spc = env.samples_per_column
    complete = (audio.size // spc) * spc
    cols = audio[complete - 100 * spc : complete].reshape(100, spc)
    np.testing.assert_array_equal(y[0::2], cols.min(axis=1))
    np.testing.assert_array_equal(y[1::2], cols.max(axis=1))
    assert x[0] == (complete - 100 * spc) / 16000
    assert abs(env.end_time - audio.size / 16000) < 1e-12
    # Display arrays are reused, not reallocated, frame after frame.
    x2, y2 = env.update_display()
    assert x2 is x and y2 is y
