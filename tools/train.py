"""The CNN+LSTM emotion model and its training loop (tf_keras).

Architecture: the 3 s window (297 frames x 60 MFCC/delta features) is split
into 9 chunks of 33 frames; the same small 1-D CNN runs over every chunk
(time-distributed; implemented as Conv2D with 1xk kernels over the chunk axis,
which is exactly a TimeDistributed Conv1D and converts to plain TFLite ops);
an LSTM (``unroll=True``: needed for int8 conversion) reads the 9 chunk
embeddings, attention pooling weighs them, softmax over the labels.  The
exported model averages ``members`` such networks trained with different seeds.

Training fights the usual failure of acted-corpus models on new speakers
(collapse to one or two classes): augmented waveform variants (see
tools/augment.py), a random EQ and tempo warp of the feature frames,
SpecAugment-style masks, class- and corpus-balanced sample weights, label
smoothing, dropout, an exponential moving average of the weights, and model
selection on VALIDATION speakers (see tools/cross_corpus.py for the check on a
corpus left out of training).
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/train.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import json
import math
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dataclasses import MISSING, dataclass, field, fields, replace  # noqa: E402

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from realtime_ser.errors import ConfigError  # noqa: E402


@dataclass
class TrainConfig:
    chunks: int = 9
    conv_filters: tuple[int, ...] = (64, 128, 128)
    lstm_units: int = 80  # 96 in models up to 1.2.0; 80 keeps two members under the 500 KB budget
    attention: bool = True
    dropout: float = 0.35
    epochs: int = 80
    patience: int = 15
    batch_size: int = 64
    learning_rate: float = 2e-3
    label_smoothing: float = 0.1
    spec_augment: bool = True
    time_masks: int = 2
    time_mask_frames: int = 25
    feature_masks: int = 2
    feature_mask_coeffs: int = 4
    cepstral_shift: float = 0.5  # std (normalised units) of a random offset of c1.. (decaying with order) = random EQ
    cepstral_shift_p: float = 0.7
    class_weights: bool = True
    corpus_balance: float = 0.5  # 0 = every clip equal; 1 = every corpus equal
    # Exponential moving average of the weights, updated every batch; validation, early stopping and
    # the exported model use the averaged weights (0 = off). Single-epoch weights swing by several
    # points of validation UA; their average is steadier and tends to transfer better to new data.
    ema_decay: float = 0.998
    # Tempo warp of the feature frames by a random rate in [1/tempo_warp, tempo_warp] (1 = off), with
    # probability tempo_warp_p: speaking rate then cannot decide a class on its own (a slow, careful
    # speaker is not disgusted; a new corpus's reading style is not an emotion).
    tempo_warp: float = 1.3
    tempo_warp_p: float = 0.5
    # Vocal-tract-length perturbation: with probability vtlp_p, warp the mel axis of a window by a
    # random factor in [1/vtlp, vtlp] (1 = off), done on the MFCCs as a linear map; other speakers
    # (longer or shorter vocal tracts, children, another sex) without new recordings.
    vtlp: float = 1.12
    vtlp_p: float = 0.5
    # With this probability a window becomes a random 0.8-2 s span of itself, repeated to fill the
    # window, as the live path fills the window for a short utterance (most clips here are longer).
    short_span_p: float = 0.0
    # With this probability a window's chunks reach the LSTM in a random order (each chunk's own frames
    # unchanged: the CNN reads every chunk alone). RAVDESS actors all say the same two sentences, so the
    # order of events across a window can identify an emotion there and nowhere else (0 = off).
    chunk_shuffle_p: float = 0.0
    # Mixup of pairs of training windows (Beta(alpha, alpha) weights; 0 = off).
    mixup_alpha: float = 0.0
    # Style mixing (MixStyle, frequency-wise as for unseen recording devices in acoustic scene
    # classification): with probability style_mix_p a window's per-feature mean and std over time
    # (its channel, voice and level "style") are mixed, Beta(style_mix_alpha) weights, with those
    # of a random training window OF THE SAME EMOTION: new speaker/studio styles per class, while
    # the class's own spectral envelope stays (0 = off).
    style_mix_p: float = 0.0
    style_mix_alpha: float = 0.3
    # Features with session references (``FeatureParams.session_level``/``pitch_session``): the share of training
    # windows shown WITHOUT their speaker's reference, as the live path sees a session's first seconds.
    reference_dropout: float = 0.3
    seed: int = 1
    # Networks trained (training seeds seed, seed + 1, ...) and averaged into the exported model.
    members: int = 2
    # How many of the window's cepstra (with their deltas; pitch columns always) a network reads, 0 = all;
    # ``member_cepstra`` sets it per member, so one ensemble can mix views of the same input (e.g. 20 and
    # 30 MFCCs: the first 20 orthonormal-DCT cepstra of 30 are exactly the 20-cepstrum features).
    cepstra: int = 0
    member_cepstra: tuple[int, ...] = ()
    # Corpus-adversarial training (0 = off): a small head guesses each window's corpus from the pooled
    # embedding through a gradient-reversal layer of this strength (ramped up over the schedule, as in
    # domain-adversarial training), so the network is pushed away from cues that identify a studio.
    # Training only; the exported model has no such head.
    adversarial: float = 0.0
    # What that head guesses: "corpus", or "speaker" (each training speaker; every speaker says every
    # emotion, so unlike the corpus, the speaker carries no emotion to lose; needs the speakers per clip).
    adversary: str = "corpus"
    threads: int = 2
    extra: dict = field(default_factory=dict)


def config_with(overrides: dict, **base) -> TrainConfig:
    """A TrainConfig from ``base`` plus JSON overrides (lists become tuples).

    An unknown key is an error rather than an attribute nobody reads, so a misspelt
    setting cannot silently train the default recipe.
    """
    if not isinstance(overrides, dict):
        raise ConfigError("training settings must be a JSON object of TrainConfig fields, "
                          f"not {type(overrides).__name__}")
    unknown = set(overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ConfigError(f"unknown training settings: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    for name, value in values.items():
        problem = setting_problem(name, value)
        if problem:  # now, not after the feature cache is built or an hour into training
            raise ConfigError(f"training setting {name}: {problem}, not {json.dumps(value)}")
    return TrainConfig(**{**base, **values})


#: What an adversarial head can guess (``TrainConfig.adversary``).
ADVERSARIES = ("corpus", "speaker")
#: Settings that must be at least 1 (sizes, counts); the other numbers must be at least 0.
_AT_LEAST_ONE = {"chunks", "lstm_units", "epochs", "patience", "batch_size", "members", "threads",
                 "tempo_warp", "vtlp"}
#: Probabilities and shares: at most 1 (dropout and the averaging's decay below 1, or nothing would learn).
_AT_MOST_ONE = {"dropout", "label_smoothing", "ema_decay", "cepstral_shift_p", "corpus_balance", "tempo_warp_p",
                "vtlp_p", "short_span_p", "chunk_shuffle_p", "style_mix_p", "reference_dropout"}
_BELOW_ONE = {"dropout", "label_smoothing", "ema_decay"}


def setting_problem(name: str, value) -> str | None:
    """What is wrong with ``value`` for TrainConfig field ``name`` (judged by its default's type), or None."""
    default = next(f for f in fields(TrainConfig) if f.name == name)
    default = default.default_factory() if default.default is MISSING else default.default
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, (int, float)):
        whole = isinstance(default, int)
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                or not math.isfinite(value):
            return "must be a whole number" if whole else "must be a number"
        low = 1 if name in _AT_LEAST_ONE else 0
        if value < low:
            return f"must be >= {low}"
        if name in _BELOW_ONE and value >= 1:
            return "must be below 1"
        return "must be <= 1" if name in _AT_MOST_ONE and value > 1 else None
    if isinstance(default, tuple):
        low = 1 if name == "conv_filters" else 0
        ok = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) and v >= low
                                              for v in value)
        return None if ok and (value or name != "conv_filters") else f"must be a list of whole numbers >= {low}"
    if name == "adversary":
        return None if value in ADVERSARIES else f"must be one of {', '.join(map(repr, ADVERSARIES))}"
    return None if isinstance(value, dict) else "must be a JSON object"  # extra


def configure_tf(threads: int, seed: int):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(seed)
    return tf


def build_model(n_frames: int, n_features: int, n_classes: int, cfg: TrainConfig):
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    if n_frames % cfg.chunks:
        raise ValueError(f"{n_frames} frames do not split into {cfg.chunks} chunks")
    chunk = n_frames // cfg.chunks
    inp = keras.Input((n_frames, n_features), name="features")
    x = inp
    columns = cepstra_columns(n_features, cfg.cepstra)
    if len(columns) < n_features:  # one GATHER in TFLite
        x = layers.Lambda(lambda t: tf.gather(t, columns, axis=-1), name="select_columns")(x)
    x = layers.Reshape((cfg.chunks, chunk, len(columns)))(x)
    for i, filters in enumerate(cfg.conv_filters):
        x = layers.Conv2D(filters, (1, 5 if i == 0 else 3), padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if i < len(cfg.conv_filters) - 1:
            x = layers.MaxPooling2D((1, 2))(x)
    x = layers.AveragePooling2D((1, x.shape[2]))(x)  # mean over each chunk's frames
    x = layers.Reshape((cfg.chunks, cfg.conv_filters[-1]))(x)
    x = layers.Dropout(cfg.dropout / 2)(x)
    h = layers.LSTM(cfg.lstm_units, return_sequences=cfg.attention, unroll=True)(x)
    if cfg.attention:
        scores = layers.Dense(1, use_bias=False)(layers.Dense(32, activation="tanh")(h))
        weights = layers.Softmax(axis=1)(layers.Reshape((cfg.chunks,))(scores))
        h = layers.Dot(axes=(1, 1))([weights, h])
    h = layers.Dropout(cfg.dropout, name="embedding_dropout")(h)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(h)
    return keras.Model(inp, out, name="ser_cnn_lstm")


def with_corpus_head(model, n_corpora: int):
    """(training model with outputs [probs, corpus], strength variable) for adversarial training.

    "corpus" names the head's output; with ``adversary`` "speaker" its classes are the training speakers.

    The head shares the emotion network's layers, so training it trains ``model``; its gradient into
    the embedding is reversed and scaled by the returned variable.
    """
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    strength = tf.Variable(0.0, trainable=False, dtype=tf.float32)

    @tf.custom_gradient
    def reverse_gradient(x):
        return tf.identity(x), lambda dy: -strength * dy

    embedding = model.get_layer("embedding_dropout").input
    z = layers.Lambda(reverse_gradient, name="reverse_gradient")(embedding)
    z = layers.Dense(32, activation="relu", name="corpus_hidden")(z)
    corpus = layers.Dense(n_corpora, activation="softmax", name="corpus")(z)
    return keras.Model(model.input, [model.output, corpus], name="ser_adversarial"), strength


def adversary_targets(cfg: TrainConfig, corpora: np.ndarray, speakers: np.ndarray | None) -> tuple[int, np.ndarray]:
    """(number of classes, class of each clip) of the adversarial head: the corpus or the speaker of a clip."""
    if cfg.adversary not in ADVERSARIES:
        raise ConfigError(f"adversary must be {' or '.join(map(repr, ADVERSARIES))}, not {cfg.adversary!r}")
    if cfg.adversary == "speaker" and speakers is None:
        raise ConfigError("a speaker adversary needs the speaker of every training clip")
    names, ids = np.unique(speakers if cfg.adversary == "speaker" else corpora, return_inverse=True)
    return len(names), ids


def cepstra_columns(n_features: int, cepstra: int) -> list[int]:
    """Feature columns holding the first ``cepstra`` cepstra of each block, and the pitch columns (0 = all)."""
    n_mfcc = cepstra_per_block(n_features)
    if not 0 < cepstra < n_mfcc:
        return list(range(n_features))
    return [k * n_mfcc + c for k in range(3) for c in range(cepstra)] + list(range(3 * n_mfcc, n_features))


def cepstra_per_block(n_features: int) -> int:
    """MFCCs per block of a feature row: static, delta, delta-delta, then (optionally) the pitch columns."""
    return n_features // 3  # the pitch columns are fewer than three


def spec_augment(x: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> np.ndarray:
    """Zero random time spans and random cepstral coefficients (with their deltas) in place.

    Zero is the per-window mean after CMVN, i.e. 'no information'.
    """
    n, frames, feats = x.shape
    n_mfcc = cepstra_per_block(feats)
    for _ in range(cfg.time_masks):
        width = rng.integers(0, cfg.time_mask_frames + 1, n)
        start = rng.integers(0, frames, n)
        t = np.arange(frames)[None, :]
        mask = (t >= start[:, None]) & (t < (start + width)[:, None])
        x[mask] = 0.0
    for _ in range(cfg.feature_masks):
        width = rng.integers(0, cfg.feature_mask_coeffs + 1, n)
        start = rng.integers(0, n_mfcc, n)
        c = np.arange(n_mfcc)[None, :]
        mask = (c >= start[:, None]) & (c < (start + width)[:, None])
        extra = np.zeros((n, feats - 3 * n_mfcc), dtype=bool)  # pitch columns are never masked here
        mask3 = np.concatenate([mask, mask, mask, extra], axis=1)  # same coefficient in static/d/dd
        x.transpose(0, 2, 1)[mask3] = 0.0
    return x


def cepstral_shift(x: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> np.ndarray:
    """Add a constant offset to the static cepstra of some windows, in place.

    A fixed microphone/room colouration adds a constant to every log-mel band,
    i.e. a constant to every cepstral coefficient: this simulates unseen
    channels cheaply (strongest on the smooth, low-order coefficients).
    """
    n, _, feats = x.shape
    n_mfcc = cepstra_per_block(feats)
    k = np.arange(1, n_mfcc)
    scale = cfg.cepstral_shift / (1 + (k - 1) / 4.0)
    offsets = rng.standard_normal((n, n_mfcc - 1)) * scale
    offsets[rng.random(n) >= cfg.cepstral_shift_p] = 0.0
    x[:, :, 1:n_mfcc] += offsets[:, None, :].astype(x.dtype)
    return x


def weight_average(decay: float):
    """A Keras callback keeping an exponential moving average of all weights (BN statistics too).

    ``.weights`` holds the average (None before the first batch).  Built on demand so that importing
    this module does not import TensorFlow.
    """
    import tf_keras as keras

    class WeightAverage(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.weights: list[np.ndarray] | None = None

        def on_train_batch_end(self, batch, logs=None):
            current = self.model.get_weights()
            if self.weights is None:
                self.weights = [w.copy() for w in current]
                return
            for avg, w in zip(self.weights, current):
                avg *= decay
                avg += (1.0 - decay) * w

    return WeightAverage()


def vtlp_matrix(alpha: float, n_mfcc: int, n_mels: int) -> np.ndarray:
    """``(n_mfcc, n_mfcc)`` map of MFCCs to the MFCCs of the mel axis warped by ``alpha``.

    Inverse DCT to a smoothed log-mel spectrum, read band ``i`` of the result at
    band ``i * alpha`` of it (linear interpolation, clamped at the top), DCT back
    (orthonormal DCT-II, as ``librosa.feature.mfcc`` uses).  ``alpha`` > 1 moves
    formants down (a longer vocal tract); ``alpha`` = 1 is the identity.
    """
    from scipy.fft import dct

    d = dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc]  # mfcc = d @ log_mel
    pos = np.clip(np.arange(n_mels) * alpha, 0, n_mels - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n_mels - 1)
    frac = pos - i0
    warp = np.zeros((n_mels, n_mels))
    warp[np.arange(n_mels), i0] += 1 - frac
    warp[np.arange(n_mels), i1] += frac
    return d @ warp @ d.T


def vocal_tract_warp(x: np.ndarray, rng: np.random.Generator, cfg: TrainConfig, n_mels: int = 40) -> np.ndarray:
    """Warp the mel axis of some windows of RAW (un-normalised) MFCC frames, in place.

    The map is linear, so it applies to the deltas and delta-deltas as well.
    """
    log_max = np.log(cfg.vtlp)
    for i in np.flatnonzero(rng.random(len(x)) < cfg.vtlp_p):
        x[i] = mel_warp(x[i], float(np.exp(rng.uniform(-log_max, log_max))), n_mels)
    return x


def mel_warp(x: np.ndarray, alpha: float, n_mels: int = 40) -> np.ndarray:
    """RAW ``(..., frames, features)`` MFCC frames with the mel axis warped by ``alpha`` (new array).

    The map is linear, so it applies to the deltas and delta-deltas as well; pitch columns are kept.
    """
    n_mfcc = cepstra_per_block(x.shape[-1])
    m = vtlp_matrix(alpha, n_mfcc, n_mels).astype(x.dtype)
    out = x.copy()
    for k in range(3):
        block = slice(k * n_mfcc, (k + 1) * n_mfcc)
        out[..., block] = x[..., block] @ m.T
    return out


def tempo_warp(x: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> np.ndarray:
    """Resample some windows' frames in time by a random rate (new array).

    Frame ``t`` of the result is frame ``t * rate`` of the input, linearly
    interpolated and wrapped around (windows of short utterances are repetitions
    anyway).  Deltas are per-frame derivatives, so they scale with the rate
    (delta-deltas with its square).
    """
    n, frames, feats = x.shape
    n_mfcc = cepstra_per_block(feats)
    log_max = np.log(cfg.tempo_warp)
    rate = np.exp(rng.uniform(-log_max, log_max, n))
    rate[rng.random(n) >= cfg.tempo_warp_p] = 1.0
    pos = (np.arange(frames)[None, :] * rate[:, None]) % frames
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0)[:, :, None].astype(x.dtype)
    i1 = (i0 + 1) % frames
    rows = np.arange(n)[:, None]
    out = x[rows, i0] * (1 - frac) + x[rows, i1] * frac
    out[:, :, n_mfcc : 2 * n_mfcc] *= rate[:, None, None].astype(x.dtype)
    out[:, :, 2 * n_mfcc : 3 * n_mfcc] *= (rate**2)[:, None, None].astype(x.dtype)
    return out


def short_spans(x: np.ndarray, rng: np.random.Generator, p: float, frames_range=(80, 200)) -> np.ndarray:
    """Replace some windows by a random span of themselves, repeated (like ``fit_to_window``) (new array)."""
    n, frames, _ = x.shape
    length = rng.integers(frames_range[0], frames_range[1] + 1, n)
    length[rng.random(n) >= p] = frames
    start = (rng.random(n) * (frames - length + 1)).astype(np.int64)
    pos = start[:, None] + np.arange(frames)[None, :] % length[:, None]
    return x[np.arange(n)[:, None], pos]


def chunk_shuffle(x: np.ndarray, rng: np.random.Generator, p: float, chunks: int) -> np.ndarray:
    """Permute the ``chunks`` equal blocks of frames of some windows (probability ``p``) (new array)."""
    n, frames, _ = x.shape
    size = frames // chunks
    order = np.tile(np.arange(chunks), (n, 1))
    shuffled = np.flatnonzero(rng.random(n) < p)
    order[shuffled] = rng.permuted(order[shuffled], axis=1)
    pos = (order[:, :, None] * size + np.arange(size)[None, None, :]).reshape(n, frames)
    return x[np.arange(n)[:, None], pos]


def mixup(x: np.ndarray, y: np.ndarray, w: np.ndarray, rng: np.random.Generator, alpha: float):
    """Convex combinations of random pairs of windows, their targets and their sample weights."""
    n = len(x)
    lam = rng.beta(alpha, alpha, n).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)  # the first window dominates, so its label stays the main one
    other = rng.permutation(n)

    def mix(a: np.ndarray) -> np.ndarray:
        k = lam.reshape((-1,) + (1,) * (a.ndim - 1))
        return k * a + (1 - k) * a[other]

    return mix(x), mix(y), mix(w)


def style_mix(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator, p: float, alpha: float) -> np.ndarray:
    """Mix the per-feature time statistics of some windows with a same-label partner's (MixStyle).

    Each chosen window is normalised by its own mean/std over frames, then rescaled by a convex
    mix of its statistics and its partner's.  Windows with no other window of their label keep
    their own statistics.
    """
    n = len(x)
    chosen = np.flatnonzero(rng.random(n) < p)
    if not len(chosen):
        return x
    partner = np.arange(n)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        partner[members] = rng.permutation(members)
    mu = x.mean(axis=1, keepdims=True)
    sig = np.sqrt(x.var(axis=1, keepdims=True) + 1e-6)
    lam = rng.beta(alpha, alpha, (len(chosen), 1, 1)).astype(x.dtype)
    mixed_mu = lam * mu[chosen] + (1 - lam) * mu[partner[chosen]]
    mixed_sig = lam * sig[chosen] + (1 - lam) * sig[partner[chosen]]
    x[chosen] = (x[chosen] - mu[chosen]) / sig[chosen] * mixed_sig + mixed_mu
    return x


def sample_weights(labels: np.ndarray, corpora: np.ndarray, n_classes: int, cfg: TrainConfig) -> np.ndarray:
    """Per-clip weights: corpora pulled towards equal mass, then classes balanced; mean 1."""
    w = np.ones(len(labels), dtype=np.float64)
    if cfg.corpus_balance > 0:
        names, counts = np.unique(corpora, return_counts=True)
        per = {n: (counts.mean() / c) ** cfg.corpus_balance for n, c in zip(names, counts)}
        w *= np.array([per[c] for c in corpora])
    if cfg.class_weights:
        mass = np.bincount(labels, weights=w, minlength=n_classes)
        w *= (mass.sum() / n_classes) / np.maximum(mass[labels], 1e-9)
    return (w / w.mean()).astype(np.float32)


def unweighted_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro recall over the classes present in ``y_true``."""
    classes = np.unique(y_true)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in classes])) if len(classes) else 0.0


def train(
    train_x: np.ndarray, train_clip: np.ndarray, labels: np.ndarray, corpora: np.ndarray,
    n_classes: int, cfg: TrainConfig, val_sets: dict | None = None, progress: bool = True,
    normalize=None, speakers: np.ndarray | None = None, row_reference: np.ndarray | None = None,
):
    """Train; return (model, history).

    ``train_x``: variant rows (float16, un-normalised; ``normalize`` maps a batch of them to model
    inputs), ``train_clip``: clip index of each row,
    ``labels``/``corpora``/``speakers``: per clip (``speakers`` only for a speaker adversary).  Each epoch
    draws one random variant per clip.  ``row_reference``: per row, its speaker's session reference, passed to
    ``normalize(batch, references)`` (NaN for ``cfg.reference_dropout`` of the windows).  ``val_sets``:
    name -> (x windows, clip_index, clip labels); the epoch with the best mean validation UA is kept
    (early stopping on it).
    """
    configure_tf(cfg.threads, cfg.seed)
    import tf_keras as keras

    rng = np.random.default_rng(cfg.seed)
    n_clips = len(labels)
    rows_of = [np.flatnonzero(train_clip == i) for i in range(n_clips)]
    weights = sample_weights(labels, corpora, n_classes, cfg)
    y = keras.utils.to_categorical(labels, n_classes).astype(np.float32)

    model = build_model(train_x.shape[1], train_x.shape[2], n_classes, cfg)
    steps = cfg.epochs * int(np.ceil(n_clips / cfg.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.05)
    emotion_loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
    fitted, strength = model, None  # ``fitted`` is what Keras trains; it contains ``model``
    if cfg.adversarial > 0:
        if cfg.mixup_alpha > 0:
            raise ConfigError("adversarial training does not mix windows: set mixup_alpha to 0")
        n_groups, corpus_ids = adversary_targets(cfg, corpora, speakers)
        fitted, strength = with_corpus_head(model, n_groups)
        fitted.compile(optimizer=keras.optimizers.Adam(schedule),
                       loss=[emotion_loss, keras.losses.SparseCategoricalCrossentropy()])
    else:
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=emotion_loss, weighted_metrics=["accuracy"])
    history: list[dict] = []
    best, best_weights, since_best = -1.0, None, 0
    averager = weight_average(cfg.ema_decay) if cfg.ema_decay > 0 else None
    bar = tqdm(range(cfg.epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        pick = np.array([rows[rng.integers(len(rows))] for rows in rows_of])
        x = train_x[pick].astype(np.float32)
        if cfg.vtlp > 1.0:  # on raw MFCCs: the map is linear there, not after the normalisation
            x = vocal_tract_warp(x, rng, cfg)
        if row_reference is not None:
            ref = row_reference[pick].copy()
            ref[rng.random(len(ref)) < cfg.reference_dropout] = np.nan
            x = normalize(x, ref)
        elif normalize is not None:
            x = normalize(x)
        if cfg.cepstral_shift > 0:
            x = cepstral_shift(x, rng, cfg)
        if cfg.short_span_p > 0:
            x = short_spans(x, rng, cfg.short_span_p)
        if cfg.tempo_warp > 1.0:
            x = tempo_warp(x, rng, cfg)
        if cfg.chunk_shuffle_p > 0:
            x = chunk_shuffle(x, rng, cfg.chunk_shuffle_p, cfg.chunks)
        if cfg.style_mix_p > 0:
            x = style_mix(x, labels, rng, cfg.style_mix_p, cfg.style_mix_alpha)
        if cfg.spec_augment:
            x = spec_augment(x, rng, cfg)
        ey, ew = y, weights
        if cfg.mixup_alpha > 0:
            x, ey, ew = mixup(x, y, weights, rng, cfg.mixup_alpha)
        targets, target_weights = ey, ew
        if strength is not None:  # DANN's ramp: 0 at the start, the full strength late in the schedule
            strength.assign(cfg.adversarial * (2.0 / (1.0 + np.exp(-10.0 * epoch / cfg.epochs)) - 1.0))
            targets, target_weights = [ey, corpus_ids], [ew, ew]
        fit = fitted.fit(x, targets, sample_weight=target_weights, batch_size=cfg.batch_size, epochs=1,
                         verbose=0, shuffle=True, callbacks=[averager] if averager else None)
        record = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1])}
        if strength is not None:
            record["corpus_loss"] = float(fit.history["corpus_loss"][-1])
        live = None
        if averager is not None:  # score (and keep) the averaged weights; train on with the live ones
            live = fitted.get_weights()
            fitted.set_weights(averager.weights)
        if val_sets:
            record.update(validation_ua(model, val_sets))
            if record["val_ua"] > best:
                best, best_weights, since_best = record["val_ua"], fitted.get_weights(), 0
            else:
                since_best += 1
        elif live is not None:
            best_weights = fitted.get_weights()
        if live is not None:
            fitted.set_weights(live)
        history.append(record)
        bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
        if val_sets and since_best >= cfg.patience:
            break
    if best_weights is not None:
        fitted.set_weights(best_weights)
    return model, history


def validation_ua(model, val_sets: dict) -> dict[str, float]:
    """``val_ua_<corpus>`` per validation set (a clip = the mean of its windows) and their mean ``val_ua``."""
    from tools.dataset import clip_mean

    record = {}
    for name, (vx, vclip, vlabels) in val_sets.items():
        probs = model.predict(vx.astype(np.float32), batch_size=256, verbose=0)
        record[f"val_ua_{name}"] = unweighted_accuracy(vlabels, clip_mean(probs, vclip, len(vlabels)).argmax(1))
    record["val_ua"] = float(np.mean(list(record.values())))
    return record


def average_models(models: list):
    """One Keras model whose output is the mean of ``models``' class probabilities (same input)."""
    if len(models) == 1:
        return models[0]
    import tf_keras as keras
    from tf_keras import layers

    inp = keras.Input(models[0].input_shape[1:], name="features")
    for i, member in enumerate(models):
        member._name = f"member_{i}"  # nested models need distinct names
    out = layers.Average(name="probs")([member(inp) for member in models])
    return keras.Model(inp, out, name="ser_cnn_lstm_ensemble")


def member_configs(cfg: TrainConfig) -> list[TrainConfig]:
    """The recipe of each ensemble member: training seeds ``cfg.seed``, ``cfg.seed + 1``, ..., and its view."""
    if cfg.member_cepstra and len(cfg.member_cepstra) != cfg.members:
        raise ConfigError(f"member_cepstra names {len(cfg.member_cepstra)} views for {cfg.members} members")
    return [replace(cfg, seed=cfg.seed + k, cepstra=cfg.member_cepstra[k] if cfg.member_cepstra else cfg.cepstra)
            for k in range(cfg.members)]


def train_members(*args, cfg: TrainConfig, **kwargs):
    """Train the recipe ``cfg.members`` times (see :func:`member_configs`) and average the networks.

    Seed-to-seed differences on a new corpus are several points of UA; the mean of two independently
    trained networks is steadier than either.  Returns (model, one history per member).
    """
    models, histories = [], []
    for member_cfg in member_configs(cfg):
        model, history = train(*args, cfg=member_cfg, **kwargs)
        models.append(model)
        histories.append(history)
    return average_models(models), histories

