"""Feature matrices for training and evaluation, computed in parallel and cached.

Training rows are *variants*: each training clip is trimmed like a VAD-cut
utterance, augmented (variant 0 stays clean), randomly cropped to one window if
longer, and turned into MFCC frames by the live path's own functions.  The
cache holds the frames BEFORE normalisation (:func:`window_frames`); applying
:func:`realtime_ser.dsp.features.normalize_window` to them gives exactly
``window_features`` -- and lets the training-set statistics of the global
normalisation be computed from the cache.  Evaluation rows are the overlapping
windows of each clip (as in ``segment_features``), so scoring a clip =
``EmotionModel.predict_segment``.

Everything is keyed by a hash of its inputs (file list and sizes, feature
parameters, augmentation version, seed) and stored under ``.cache/features``:
a second run of the build reads it back in seconds.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/dataset.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import hashlib
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from realtime_ser.audio.io import load_audio
from realtime_ser.dsp.features import FeatureParams, segment_frames, window_frames
from tools import augment as aug
from tools.corpora import Clip

#: Bump when augmentation or trimming changes, so stale caches are not reused.
AUGMENT_VERSION = 4
DEFAULT_CACHE = Path(".cache") / "features"
EVAL_NOISES = ("pink", "babble", "white")
#: Voices in one babble-noise track (so at least this many training clips are needed).
BABBLE_TALKERS = 4


@dataclass
class FeatureSet:
    """Un-normalised feature windows ``x`` (float16) with the clip each row came from."""

    x: np.ndarray  # (rows, frames, features)
    clip_index: np.ndarray  # (rows,) index into the clip list it was built from


def load_utterance(data_dir: str | os.PathLike, clip: Clip, sr: int = 16000) -> np.ndarray:
    """A clip as the live pipeline would see it: mono 16 kHz, silence trimmed to ~0.25 s."""
    return aug.trim_silence(load_audio(Path(data_dir) / clip.path, sr), sr)


def _digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _files_key(data_dir, clips: list[Clip]) -> list:
    root = Path(data_dir)
    return [(c.path, (root / c.path).stat().st_size) for c in clips]


def _params_key(p: FeatureParams) -> dict:
    """Feature parameters in a cache key.

    The cache holds UN-normalised frames, so ``pitch_relative``, ``pitch_session`` and ``session_level``
    (normalisation only) are left out, and without pitch so are the pitch settings, without a floor
    ``floor_db`` and without DC removal ``dc_block``: caches made before those fields existed keep their keys.
    """
    key = p.to_dict()
    if not p.floor_db:
        key.pop("floor_db")
    if not p.dc_block:
        key.pop("dc_block")
    key.pop("session_level")
    for name in (("pitch_relative", "pitch_session") if p.pitch
                 else ("pitch", "f0_min", "f0_max", "pitch_relative", "pitch_session")):
        key.pop(name)
    return key


def _cached(cache_dir: Path | None, name: str, key, compute) -> FeatureSet:
    if cache_dir is None:
        return compute()
    target = Path(cache_dir) / f"{name}-{_digest(key)}.npz"
    if target.is_file():
        with np.load(target) as data:
            return FeatureSet(data["x"], data["clip_index"])
    result = compute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, x=result.x, clip_index=result.clip_index)
    os.replace(tmp, target)
    return result


# ---- worker state (set once per process by the pool initializer) ----
_W: dict = {}


def _init_worker(state: dict) -> None:
    _W.clear()
    _W.update(state)


def _babble_for(speaker: str) -> list[np.ndarray]:
    return [noise for noise, speakers in _W.get("babble", []) if speaker not in speakers]


def _train_job(i: int) -> tuple[int, np.ndarray]:
    clip: Clip = _W["clips"][i]
    p: FeatureParams = _W["params"]
    audio = load_utterance(_W["data_dir"], clip, p.sample_rate)
    babble = _babble_for(clip.speaker)
    out = np.empty((_W["n_variants"], p.n_frames, p.n_features), dtype=np.float16)
    for v in range(_W["n_variants"]):
        rng = np.random.default_rng([_W["seed"], i, v])
        x = audio if v == 0 else aug.augment(audio, rng, babble, chain=_W.get("chain", False))
        if x.size > p.window_samples:  # a random window of a long utterance
            start = int(rng.integers(x.size - p.window_samples + 1))
            x = x[start : start + p.window_samples]
        out[v] = window_frames(x, p)
    return i, out


def _eval_job(i: int) -> tuple[int, np.ndarray]:
    clip: Clip = _W["clips"][i]
    p: FeatureParams = _W["params"]
    audio = load_utterance(_W["data_dir"], clip, p.sample_rate)
    if _W.get("channel"):  # an unseen 'microphone': random band-limit or EQ (other seed family)
        audio = aug.random_microphone(audio, np.random.default_rng([_W["seed"], i, 7]))
    snr = _W["snr_db"]
    if snr is not None:
        rng = np.random.default_rng([_W["seed"], i])
        kind = EVAL_NOISES[i % len(EVAL_NOISES)]
        babble = _babble_for(clip.speaker)
        if kind == "babble" and babble:
            noise = babble[int(rng.integers(len(babble)))]
        else:
            noise = aug.coloured_noise(audio.size, "pink" if kind == "babble" else kind, rng)
        audio = aug.mix_at_snr(audio, noise, snr)
    if _W.get("condition"):  # a recording chain's own mark, after everything acoustic
        audio = aug.INPUT_CONDITIONS[_W["condition"]][1](audio)
    return i, segment_frames(audio, p).astype(np.float16)


def _run_pool(job, n: int, state: dict, workers: int, desc: str) -> list[np.ndarray]:
    results: list[np.ndarray | None] = [None] * n
    if workers <= 1:
        _init_worker(state)
        for i in tqdm(range(n), desc=desc, unit="clip"):
            results[i] = job(i)[1]
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(state,)) as pool:
            for i, arr in tqdm(pool.imap_unordered(job, range(n), chunksize=8), total=n, desc=desc, unit="clip"):
                results[i] = arr
    return results  # type: ignore[return-value]


def babble_bank(
    data_dir, clips: list[Clip], n_tracks: int = 24, talkers: int = BABBLE_TALKERS, seconds: float = 6.0,
    seed: int = 0,
) -> list[tuple[np.ndarray, frozenset[str]]]:
    """Tracks of several overlapping talkers, each with the speakers it contains."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    bank = []
    for _ in range(n_tracks):
        picks = rng.choice(len(clips), size=talkers, replace=False)
        track = np.zeros(n, dtype=np.float32)
        for k in picks:
            voice = load_utterance(data_dir, clips[k])
            voice = np.tile(voice, int(np.ceil(n / max(1, voice.size))))[:n]
            track += voice / (np.sqrt(np.mean(voice**2)) + 1e-9)
        bank.append((track / talkers, frozenset(clips[k].speaker for k in picks)))
    return bank


def train_features(
    data_dir, clips: list[Clip], params: FeatureParams, n_variants: int, seed: int,
    babble: list | None, cache_dir: Path | None = DEFAULT_CACHE, workers: int = 2, chain: bool = False,
) -> FeatureSet:
    """``n_variants`` augmented windows per clip (variant 0 clean); rows ordered clip-major.
    ``chain``: the augmentation's recording chains too (see :func:`tools.augment.augment`)."""
    key = {
        "kind": "train", "files": _files_key(data_dir, clips), "params": _params_key(params),
        "variants": n_variants, "seed": seed, "augment": AUGMENT_VERSION,
        "babble": None if babble is None else [sorted(s) for _, s in babble],
        **({"chain": True} if chain else {}),  # caches made before it keep their keys
    }

    def compute() -> FeatureSet:
        state = {"clips": clips, "params": params, "data_dir": str(data_dir), "seed": seed,
                 "n_variants": n_variants, "babble": babble or [], "chain": chain}
        arrays = _run_pool(_train_job, len(clips), state, workers, "train features")
        x = np.concatenate(arrays) if arrays else np.zeros((0, params.n_frames, params.n_features), np.float16)
        return FeatureSet(x, np.repeat(np.arange(len(clips)), n_variants))

    return _cached(cache_dir, "train", key, compute)


def eval_features(
    data_dir, clips: list[Clip], params: FeatureParams, snr_db: float | None = None, seed: int = 1234,
    babble: list | None = None, cache_dir: Path | None = DEFAULT_CACHE, workers: int = 2, desc: str = "eval",
    channel: bool = False, condition: str | None = None,
) -> FeatureSet:
    """All overlapping windows of each clip (optionally through a random channel, with noise at ``snr_db``,
    through ``condition``, one of :data:`tools.augment.INPUT_CONDITIONS`)."""
    key = {
        "kind": "eval", "files": _files_key(data_dir, clips), "params": _params_key(params), "snr": snr_db,
        "channel": channel,
        "seed": seed, "augment": AUGMENT_VERSION,
        "babble": None if babble is None or snr_db is None else [sorted(s) for _, s in babble],
        **({"condition": condition} if condition else {}),  # caches made before it keep their keys
    }

    def compute() -> FeatureSet:
        state = {"clips": clips, "params": params, "data_dir": str(data_dir), "seed": seed,
                 "snr_db": snr_db, "babble": babble or [], "channel": channel, "condition": condition}
        arrays = _run_pool(_eval_job, len(clips), state, workers, desc)
        index = np.concatenate([np.full(len(a), i) for i, a in enumerate(arrays)]) if arrays else np.zeros(0, int)
        x = np.concatenate(arrays) if arrays else np.zeros((0, params.n_frames, params.n_features), np.float16)
        return FeatureSet(x, index)

    name = (f"eval{'-channel' if channel else ''}{'' if snr_db is None else f'-snr{snr_db:g}'}"
            f"{f'-{condition}' if condition else ''}")
    return _cached(cache_dir, name, key, compute)


def clip_mean(probs: np.ndarray, clip_index: np.ndarray, n_clips: int) -> np.ndarray:
    """Mean of window probabilities per clip (what ``predict_segment`` does)."""
    out = np.zeros((n_clips, probs.shape[1]), dtype=np.float64)
    np.add.at(out, clip_index, probs)
    counts = np.bincount(clip_index, minlength=n_clips)[:, None]
    return out / np.maximum(counts, 1)

