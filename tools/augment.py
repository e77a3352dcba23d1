"""Waveform augmentation that turns studio clips into something like live laptop audio.

Pure functions (array in, array out, explicit ``numpy.random.Generator``):
silence trimming (live audio arrives as VAD-cut utterances), additive noise at
a given SNR (white/pink/brown or babble of other speakers), gain, speed
perturbation (pitch and tempo together, by resampling), band-limiting and EQ
(microphone), and synthetic reverberation (room).

``INPUT_CONDITIONS`` are the evaluation's fixed stand-ins for recording chains other than the
corpora's (a sound card's DC offset, clipping, a phone call's band, a low-bitrate voice memo): each
is applied alone to clean test clips, to count the answers it changes.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/augment.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import io

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

SR = 16000
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def trim_silence(
    audio: np.ndarray, sr: int = SR, margin_s: float = 0.25, threshold_db: float = 35.0
) -> np.ndarray:
    """Cut leading/trailing silence, keeping ``margin_s`` around the speech.

    Speech = 20 ms frames within ``threshold_db`` of the loudest frame, roughly
    what the live energy VAD (with its pre-roll and hangover) hands the model.
    """
    audio = np.asarray(audio, dtype=np.float32)
    frame = int(0.02 * sr)
    n = audio.size // frame
    if n < 3:
        return audio
    energy = np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1)
    db = 10 * np.log10(energy + 1e-12)
    loud = np.flatnonzero(db > db.max() - threshold_db)
    start = max(0, loud[0] * frame - int(margin_s * sr))
    end = min(audio.size, (loud[-1] + 1) * frame + int(margin_s * sr))
    return audio[start:end]


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f^alpha power spectrum (white, pink or brown)."""
    alpha = NOISE_COLOURS[colour]
    white = rng.standard_normal(n).astype(np.float32)
    if alpha == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1.0 / SR)
    f[0] = f[1] if n > 1 else 1.0
    spec /= f ** (alpha / 2)
    noise = np.fft.irfft(spec, n).astype(np.float32)
    return noise / (noise.std() + 1e-9)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``noise`` (tiled/cut to length) so that speech power / noise power = ``snr_db``."""
    speech = np.asarray(speech, dtype=np.float32)
    if noise.size < speech.size:
        noise = np.tile(noise, int(np.ceil(speech.size / max(1, noise.size))))
    noise = noise[: speech.size]
    p_speech = np.mean(speech**2) + 1e-12
    p_noise = np.mean(noise**2) + 1e-12
    scale = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return (speech + scale * noise).astype(np.float32)


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """Scale, clipping to [-1, 1] like a real ADC would."""
    return np.clip(audio * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def speed_perturb(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster: tempo and pitch both change (Kaldi-style)."""
    if abs(factor - 1.0) < 1e-3:
        return audio
    return soxr.resample(audio, SR * factor, SR, quality="HQ").astype(np.float32)


def band_limit(audio: np.ndarray, low_hz: float, high_hz: float, order: int = 4) -> np.ndarray:
    """Band-pass like a cheap microphone or a telephone channel."""
    nyq = SR / 2
    high = min(high_hz, nyq * 0.98)
    sos = signal.butter(order, [max(low_hz, 10.0) / nyq, high / nyq], btype="bandpass", output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def overdrive(audio: np.ndarray, over_db: float) -> np.ndarray:
    """Peaks driven ``over_db`` past full scale and clipped there: an input gain set too high."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return np.asarray(audio, dtype=np.float32)
    return apply_gain(audio / peak, over_db)


def telephone_band(audio: np.ndarray) -> np.ndarray:
    """A narrowband phone call: through 8 kHz sampling (nothing above 4 kHz) and a 300 Hz high-pass."""
    narrow = soxr.resample(soxr.resample(audio, SR, 8000, quality="HQ"), 8000, SR, quality="HQ")
    narrow = np.pad(narrow, (0, max(0, audio.size - narrow.size)))[: audio.size]
    return band_limit(narrow, 300.0, SR / 2)


def lossy_codec(audio: np.ndarray, compression: float) -> np.ndarray:
    """Through an MP3 encoder and back (libsndfile's LAME; ``compression`` 0..1: 0.95 is about
    16 kbit/s at 16 kHz, a voice memo's rate), aligned and cut to the input's length."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, dtype=np.float32), SR, format="MP3", subtype="MPEG_LAYER_III",
             compression_level=compression, bitrate_mode="CONSTANT")
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32", always_2d=True)
    decoded = decoded[:, 0]
    return np.pad(decoded, (0, max(0, audio.size - decoded.size)))[: audio.size]


#: name -> (what it stands for, in the model card's words; the transform of a clean clip).
INPUT_CONDITIONS = {
    "dc": ("1% of full scale DC offset (a cheap sound card)", lambda a: (a + np.float32(0.01)).astype(np.float32)),
    "clipped": ("clipped, peaks driven 12 dB past full scale (input gain too high)", lambda a: overdrive(a, 12.0)),
    "phone": ("telephone band, 8 kHz sampling and a 300 Hz high-pass (a phone call)", telephone_band),
    "mp3": ("MP3 at about 16 kbit/s (a voice memo)", lambda a: lossy_codec(a, 0.95)),
}


def peaking_eq(audio: np.ndarray, centre_hz: float, gain_db: float, q: float = 1.0) -> np.ndarray:
    """One peaking biquad (RBJ cookbook): a resonance or dip of a microphone/room."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * centre_hz / SR
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return signal.lfilter(b / den[0], den / den[0], audio).astype(np.float32)


def synthetic_rir(rt60: float, rng: np.random.Generator, direct_ratio_db: float = 0.0) -> np.ndarray:
    """Room impulse response: a direct path plus exponentially decaying noise with RT60 ``rt60``."""
    n = int(max(rt60, 0.05) * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    tail[: int(0.003 * SR)] = 0.0  # first reflections arrive after a few ms
    tail /= np.sqrt(np.sum(tail**2)) + 1e-9
    rir = tail * 10 ** (-direct_ratio_db / 20)
    rir[0] += 1.0
    return rir.astype(np.float32)


def reverberate(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    wet = signal.fftconvolve(audio, rir)[: audio.size]
    peak_in, peak_out = np.max(np.abs(audio)) + 1e-9, np.max(np.abs(wet)) + 1e-9
    return (wet * (peak_in / peak_out)).astype(np.float32)


def random_microphone(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random channel: telephone band, laptop-mic band-limit, or EQ resonances."""
    kind = rng.integers(3)
    if kind == 0:
        return band_limit(audio, rng.uniform(200, 400), rng.uniform(3200, 4000))
    if kind == 1:
        return band_limit(audio, rng.uniform(60, 250), rng.uniform(4500, 7900))
    out = audio
    for _ in range(rng.integers(1, 4)):
        out = peaking_eq(out, rng.uniform(150, 6000), rng.uniform(-10, 10), rng.uniform(0.7, 2.5))
    return out


def augment(
    audio: np.ndarray, rng: np.random.Generator, babble: list[np.ndarray] | None = None, chain: bool = False,
) -> np.ndarray:
    """One random 'live microphone' version of a clean utterance.

    ``babble``: recordings of OTHER speakers to use as competing talk.  ``chain``: the recording chains
    the input conditions stand for too (a phone line, hard clipping, a low-bitrate MP3), each in a few
    variants; off, the draws are exactly those of the recipe without them.
    """
    out = np.asarray(audio, dtype=np.float32)
    if rng.random() < 0.5:
        out = speed_perturb(out, rng.uniform(0.9, 1.1))
    if rng.random() < 0.4:
        out = reverberate(out, synthetic_rir(rng.uniform(0.15, 0.9), rng, rng.uniform(-3, 10)))
    if chain and rng.random() < 0.15:
        out = telephone_band(out)
    elif rng.random() < 0.5:
        out = random_microphone(out, rng)
    if rng.random() < 0.75:
        kinds = ["white", "pink", "brown"] + (["babble", "babble"] if babble else [])
        kind = kinds[rng.integers(len(kinds))]
        if kind == "babble":
            noise = babble[rng.integers(len(babble))]
            start = rng.integers(max(1, noise.size - out.size))
            noise = noise[start:]
        else:
            noise = coloured_noise(out.size, kind, rng)
        out = mix_at_snr(out, noise, rng.uniform(0, 30))
    peak = np.max(np.abs(out)) + 1e-9
    out = out / peak * 0.5  # normalise, then a random level (sometimes clipping)
    if chain and rng.random() < 0.1:  # an input gain set far too high
        out = overdrive(out, rng.uniform(3, 15)) * np.float32(10 ** (rng.uniform(-20, 0) / 20))
    else:
        out = apply_gain(out, rng.uniform(-30, 8))
    if chain and rng.random() < 0.1:
        out = lossy_codec(out, rng.uniform(0.85, 0.97))
    return out

