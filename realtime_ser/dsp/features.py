"""The one feature extractor, shared by training, file analysis and the live path.

A model window is ``window_seconds`` of 16 kHz audio turned into MFCC frames
(plus first and second deltas), then normalised per window (cepstral mean and
variance normalisation).  Per-window CMVN removes the fixed spectral tilt of a
microphone and the overall gain, the two things that differ most between the
acted studio corpora the model learns from and a laptop microphone.

The parameters travel inside the model file (see ``realtime_ser.model.metadata``)
so that inference cannot silently use different ones from training.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields

import librosa
import numpy as np
import scipy.fft
import scipy.ndimage

from realtime_ser.dsp.dc import without_dc


#: Columns :func:`pitch_frames` adds when ``FeatureParams.pitch`` is set: log2 F0, voicing.
PITCH_COLUMNS = 2


@dataclass(frozen=True)
class FeatureParams:
    """Everything that determines the feature matrix of a window."""

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms
    n_mels: int = 40
    n_mfcc: int = 20
    fmin: float = 60.0
    fmax: float = 7600.0
    delta_width: int = 9
    window_seconds: float = 3.0
    cmvn: bool = True
    # With ``cmvn=False`` and these set: fixed (training-set) normalisation per feature, and only the
    # level (c0) normalised per window. Keeps the utterance's spectral envelope, which per-window CMVN removes.
    global_mean: tuple[float, ...] = ()
    global_std: tuple[float, ...] = ()
    # Global mode only: also remove each window's mean of the static cepstra c1.. (cepstral mean
    # subtraction). A fixed microphone/room colouration is a constant there, so this takes the channel
    # out while keeping the globally scaled dynamics (which per-window CMVN would flatten).
    channel_mean: bool = False
    # Two prosody columns after the cepstra: log2 F0 (octaves re 100 Hz, bridged over unvoiced frames)
    # and voicing strength. Emotion lives largely in pitch level and movement, which 20 MFCCs of a
    # 40-band mel spectrum mostly smooth away. Off in models that predate it.
    pitch: bool = False
    f0_min: float = 70.0
    f0_max: float = 450.0
    # Global mode with pitch: also remove each window's mean log-F0, keeping the pitch contour and range
    # but not the voice's level (a woman's neutral is not a man's excitement).
    pitch_relative: bool = False
    # Session references (global mode): columns that are otherwise centred per window are taken
    # relative to the SPEAKER's (the session's) mean window level, which the caller supplies
    # (``reference``, see :func:`session_columns`). The window's own mean removes the level an emotion
    # adds (louder, higher than usual); an absolute level mistakes a high voice or a loud microphone for
    # arousal; the speaker's mean keeps the difference. Without a reference (a session's first seconds) a
    # window falls back to its own mean, which training also shows the model.
    pitch_session: bool = False  # log-F0 (with pitch_relative)
    session_level: bool = False  # c0, the loudness
    # Dynamic-range floor (dB, 0 = off): a constant power this far under the window's loudest frame is
    # added to every mel band before the log. Pauses in a studio corpus lie 60-70 dB under the speech, on
    # a laptop microphone 30-50 dB; without a floor the depth of the pauses is a cue for the recording
    # set-up that the model could learn as if it were an emotion.
    floor_db: float = 0.0
    # Each window's DC offset removed before anything else (:func:`without_dc`): a sound card's offset
    # otherwise leaks into the lowest mel bands and changes the answer. Off in models that predate it.
    dc_block: bool = False

    @property
    def window_samples(self) -> int:
        return int(round(self.window_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Frames in one window (``center=False`` framing)."""
        return 1 + (self.window_samples - self.n_fft) // self.hop_length

    @property
    def n_features(self) -> int:
        return 3 * self.n_mfcc + (PITCH_COLUMNS if self.pitch else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureParams":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown feature parameters: {', '.join(sorted(unknown))}")
        data = {k: tuple(float(x) for x in v) if isinstance(v, list) else v for k, v in data.items()}
        params = cls(**data)
        params._check()
        return params

    def _check(self) -> None:
        """Parameters read from a file (a model's metadata) that no feature matrix can be made with
        raise ValueError here, not a broadcasting error at the first utterance."""
        sizes = ("sample_rate", "n_fft", "win_length", "hop_length", "n_mels", "n_mfcc", "delta_width")
        for name in sizes:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"feature parameter {name} must be a whole number >= 1, not {value!r}")
        if self.win_length > self.n_fft or self.n_mfcc > self.n_mels or self.n_frames < 1:
            raise ValueError("feature parameters do not fit together (window, FFT, mel and MFCC sizes)")
        if self.global_mean or self.global_std:
            for name in ("global_mean", "global_std"):
                values = np.asarray(getattr(self, name), dtype=np.float64)
                if values.shape != (self.n_features,) or not np.all(np.isfinite(values)):
                    raise ValueError(f"{name} must hold {self.n_features} finite numbers, one per feature")
            if not np.all(np.asarray(self.global_std) > 0):
                raise ValueError("global_std must be positive")


_MEL_CACHE: dict[FeatureParams, np.ndarray] = {}


def _mel_basis(p: FeatureParams) -> np.ndarray:
    basis = _MEL_CACHE.get(p)
    if basis is None:
        basis = librosa.filters.mel(
            sr=p.sample_rate, n_fft=p.n_fft, n_mels=p.n_mels, fmin=p.fmin, fmax=p.fmax
        ).astype(np.float32)
        _MEL_CACHE[p] = basis
    return basis


def log_mel_spectrogram(audio: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Log-mel energies, shape ``(frames, n_mels)``; also what the GUI's spectrogram shows."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size < p.n_fft:
        audio = np.pad(audio, (0, p.n_fft - audio.size))
    power = (
        np.abs(
            librosa.stft(
                audio,
                n_fft=p.n_fft,
                hop_length=p.hop_length,
                win_length=p.win_length,
                center=False,
            )
        )
        ** 2
    )
    mel = _mel_basis(p) @ power
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32)


def floor_dynamic_range(log_mel: np.ndarray, floor_db: float) -> np.ndarray:
    """``(frames, n_mels)`` log-mel (dB) with a power floor ``floor_db`` under the loudest frame's mean band power.

    A soft floor (added power, not a clip), so quiet frames keep some shape and the result does not
    depend on the gain of the input.
    """
    power = np.power(10.0, log_mel.astype(np.float64) / 10.0)
    floor = power.mean(axis=1).max() * 10.0 ** (-floor_db / 10.0)
    return (10.0 * np.log10(power + floor)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _delta_operator(width: int, order: int) -> np.ndarray:
    """``(width, width)``: row ``t`` gives :func:`librosa.feature.delta` at frame ``t`` of ``width`` frames.

    Made by librosa itself (its delta of each unit impulse), so it is librosa's filter, linearised:
    the middle row is the Savitzky-Golay filter of every inner frame, the others its polynomial fit
    at the edges (``mode="interp"``).
    """
    return librosa.feature.delta(np.eye(width, dtype=np.float32), width=width, order=order, axis=0)


def delta(x: np.ndarray, width: int, order: int = 1) -> np.ndarray:
    """:func:`librosa.feature.delta` of ``x`` (features, frames) along time, ``width`` odd and at most
    the frames, in a tenth of its time: librosa fits the edge polynomials anew on every call (a third
    of a window's feature cost), while they are the same linear map for every window."""
    op = _delta_operator(width, order)
    half, n = width // 2, x.shape[1]
    out = scipy.ndimage.correlate1d(x, op[half], axis=1, mode="constant")
    out[:, :half] = x[:, :width] @ op[:half].T
    out[:, n - half:] = x[:, n - width:] @ op[half + 1:].T
    return out


def mfcc_frames(audio: np.ndarray, p: FeatureParams) -> np.ndarray:
    """MFCC + delta + delta-delta frames, shape ``(frames, 3 * n_mfcc)``, not normalised."""
    log_mel = log_mel_spectrogram(audio, p)
    if p.floor_db > 0:
        log_mel = floor_dynamic_range(log_mel, p.floor_db)
    log_mel = log_mel.T
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=p.n_mfcc)
    width = min(p.delta_width, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    if width >= 3:
        d1 = delta(mfcc, width, order=1)
        d2 = delta(mfcc, width, order=2)
    else:
        d1 = np.zeros_like(mfcc)
        d2 = np.zeros_like(mfcc)
    return np.concatenate([mfcc, d1, d2], axis=0).T.astype(np.float32)


def pitch_frames(audio: np.ndarray, p: FeatureParams, frame_seconds: float = 0.04) -> np.ndarray:
    """``(frames, 2)``: log2(F0 / 100 Hz) and voicing strength (0-1), on the MFCC frames' grid.

    A normalised-autocorrelation tracker (Boersma's taper correction and octave cost), fully
    vectorised: a few ms for a 3 s window where librosa's YIN/pYIN take hundreds.
    Frame ``t`` is centred where MFCC frame ``t`` is.  Frames that are quiet
    (35 dB under the window's loudest) or weakly periodic count as unvoiced;
    their F0 is bridged linearly from the voiced neighbours (a window with no
    voiced frame gets 0, i.e. 100 Hz) and their voicing is 0.
    """
    audio = np.asarray(audio, dtype=np.float32)
    length = int(round(frame_seconds * p.sample_rate))
    n_frames = 1 + max(0, audio.size - p.n_fft) // p.hop_length
    offset = p.n_fft // 2 - length // 2  # start of frame 0, relative to the audio, so centres align
    pad_before = max(0, -offset)
    needed = offset + pad_before + (n_frames - 1) * p.hop_length + length
    padded = np.pad(audio, (pad_before, max(0, needed - audio.size - pad_before)))
    frames = np.lib.stride_tricks.sliding_window_view(padded[offset + pad_before :], length)[:: p.hop_length][:n_frames]
    frames = frames - frames.mean(axis=1, keepdims=True)
    taper = np.hanning(length).astype(np.float32)
    lag_min = int(np.floor(p.sample_rate / p.f0_max))
    lag_max = int(np.ceil(p.sample_rate / p.f0_min))
    n_fft = 1 << int(np.ceil(np.log2(length + lag_max + 1)))
    # float32 FFTs (scipy keeps the dtype; numpy would work in float64 at several times the cost)
    acf = scipy.fft.irfft(np.abs(scipy.fft.rfft(frames * taper, n_fft, axis=1)) ** 2, n_fft, axis=1)
    taper_acf = scipy.fft.irfft(np.abs(scipy.fft.rfft(taper, n_fft)) ** 2, n_fft)
    lo, hi = lag_min - 1, lag_max + 2  # the search range and one lag either side, for the refinement
    power = acf[:, 0]
    r = acf[:, lo:hi] / np.maximum(power[:, None], 1e-12) / np.maximum(taper_acf[lo:hi] / taper_acf[0], 1e-3)
    lags = np.arange(lag_min, lag_max + 1)
    # a small cost per octave down, as Praat's "octave cost": a periodic signal correlates as well at
    # two periods as at one, and the shorter one is the pitch
    best = np.argmax(r[:, 1:-1] - 0.05 * np.log2(lags / lag_min), axis=1) + 1  # index into r
    rows = np.arange(n_frames)
    peak, left, right = r[rows, best], r[rows, best - 1], r[rows, best + 1]
    denom = left - 2 * peak + right  # parabolic refinement of the lag
    shift = np.clip(0.5 * (left - right) / np.where(np.abs(denom) > 1e-9, denom, np.inf), -0.5, 0.5)
    lag = lo + best + shift
    db = 10 * np.log10(power + 1e-12)
    voiced = (peak > 0.45) & (db > db.max() - 35.0)
    log_f0 = np.log2(p.sample_rate / lag / 100.0)
    if voiced.any():
        idx = np.flatnonzero(voiced)
        log_f0 = np.interp(rows, idx, log_f0[idx])
        if n_frames >= 3:  # a 3-frame median removes single-frame octave jumps
            padded_f0 = np.pad(log_f0, 1, mode="edge")
            a, b, c = padded_f0[:-2], log_f0, padded_f0[2:]
            log_f0 = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    else:
        log_f0 = np.zeros(n_frames)
    voicing = np.where(voiced, np.clip(peak, 0.0, 1.0), 0.0)
    return np.stack([log_f0, voicing], axis=1).astype(np.float32)


def normalize_frames(frames: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Per-window cepstral mean and variance normalisation over time (``(..., frames, features)``)."""
    mean = frames.mean(axis=-2, keepdims=True)
    std = frames.std(axis=-2, keepdims=True)
    return ((frames - mean) / (std + eps)).astype(np.float32)


def centred_columns(p: FeatureParams) -> list[int]:
    """Global mode: the columns whose level is removed (per window, or per session, see below)."""
    cols = list(range(p.n_mfcc)) if p.channel_mean else [0]
    return cols + ([3 * p.n_mfcc] if p.pitch and p.pitch_relative else [])


def session_columns(p: FeatureParams) -> list[int]:
    """The centred columns taken relative to the session's (speaker's) level: c0, log-F0, both or none."""
    if p.cmvn or not p.global_mean:
        return []
    wanted = ([0] if p.session_level else []) + ([3 * p.n_mfcc] if p.pitch_session else [])
    return [c for c in wanted if c in centred_columns(p)]


def normalize_window(frames: np.ndarray, p: FeatureParams, reference=None) -> np.ndarray:
    """The normalisation ``p`` asks for, on ``(..., frames, features)`` raw MFCC frames.

    Global mode: a gain change shifts only c0, so removing c0's per-window mean
    makes the features level-independent while the envelope (c1...) stays.
    ``reference``: the session's level of each of :func:`session_columns` (see :func:`session_levels`),
    shape ``(k,)`` or one row per window; NaN (or None) = none yet, the window's own level is used.
    """
    if p.cmvn:
        return normalize_frames(frames)
    if p.global_mean:
        out = (frames - np.asarray(p.global_mean, np.float32)) / np.asarray(p.global_std, np.float32)
        centred = centred_columns(p)
        level = out[..., centred].mean(axis=-2, keepdims=True)
        session = session_columns(p)
        if session and reference is not None:
            ref = np.asarray(reference, np.float32)
            ref = ref.reshape(ref.shape[:-1] + (1, len(session)))
            pos = [centred.index(c) for c in session]
            level[..., pos] = np.where(np.isnan(ref), level[..., pos], ref)
        out[..., centred] -= level
        return out.astype(np.float32)
    return np.asarray(frames, dtype=np.float32)


def session_levels(frames: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Each window's mean of the globally scaled :func:`session_columns`, shape ``frames.shape[:-2] + (k,)``.

    The mean of these over a speaker's windows is that speaker's ``reference``.
    """
    cols = session_columns(p)
    raw = np.asarray(frames[..., cols], dtype=np.float64).mean(axis=-2)
    mean, std = np.asarray(p.global_mean)[cols], np.asarray(p.global_std)[cols]
    return ((raw - mean) / std).astype(np.float32)


def fit_to_window(audio: np.ndarray, window_samples: int) -> np.ndarray:
    """Make a segment exactly one window long.

    Short segments are repeated (not zero-padded) so the model never sees
    artificial silence it was not trained on; long ones are cut to the first
    window (callers that need all of a long segment use :func:`window_starts`).
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return np.zeros(window_samples, dtype=np.float32)
    if audio.size >= window_samples:
        return audio[:window_samples]
    reps = int(np.ceil(window_samples / audio.size))
    return np.tile(audio, reps)[:window_samples]


def window_starts(n_samples: int, window_samples: int, hop_samples: int) -> list[int]:
    """Start offsets of windows covering ``n_samples``; the last window ends at the end."""
    if n_samples <= window_samples:
        return [0]
    starts = list(range(0, n_samples - window_samples + 1, hop_samples))
    if starts[-1] + window_samples < n_samples:
        starts.append(n_samples - window_samples)
    return starts


def window_features(audio: np.ndarray, p: FeatureParams, reference=None) -> np.ndarray:
    """The model input for one segment: ``(n_frames, n_features)`` float32.

    This is THE feature function: training, ``analyze`` and the microphone all
    call it, so they cannot drift apart.  ``reference``: see :func:`normalize_window`.
    """
    return normalize_window(window_frames(audio, p), p, reference)


def window_frames(audio: np.ndarray, p: FeatureParams) -> np.ndarray:
    """Un-normalised frames of one window (training caches these, then normalises like above)."""
    if p.dc_block:  # before a short utterance is repeated: a drifting offset would make a step at each seam
        audio = without_dc(np.asarray(audio)[: p.window_samples])
    audio = fit_to_window(audio, p.window_samples)
    frames = mfcc_frames(audio, p)[: p.n_frames]
    if not p.pitch:
        return frames
    return np.concatenate([frames, pitch_frames(audio, p)[: p.n_frames]], axis=1)


def segment_frames(audio: np.ndarray, p: FeatureParams, hop_seconds: float = 1.5) -> np.ndarray:
    """Un-normalised frames of the overlapping windows of a segment: ``(n_windows, n_frames, n_features)``."""
    audio = np.asarray(audio, dtype=np.float32)
    hop = max(1, int(round(hop_seconds * p.sample_rate)))
    starts = window_starts(audio.size, p.window_samples, hop)
    return np.stack([window_frames(audio[s : s + p.window_samples], p) for s in starts])


def segment_features(audio: np.ndarray, p: FeatureParams, hop_seconds: float = 1.5,
                     reference=None) -> np.ndarray:
    """Model inputs for a segment of any length: ``(n_windows, n_frames, n_features)``."""
    return normalize_window(segment_frames(audio, p, hop_seconds), p, reference)
