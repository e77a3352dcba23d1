"""Seed-style baseline: clip-mean spectral features + an MLP, on the same speaker split.

162 values per clip (mean over frames of ZCR 1, chroma 12, MFCC 20, RMS 1,
mel 128), standardised, then sklearn's MLPClassifier (256, 256, 64).  This is
what the projects this one started from did; on a random clip split it looks
good (the same speakers are in train and test), on held-out speakers it does
not.  The model card reports the CNN+LSTM's gain over it.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/baseline.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import multiprocessing as mp
import os
from pathlib import Path

import librosa
import numpy as np
from tqdm import tqdm

from realtime_ser.audio.io import load_audio
from tools.corpora import Clip
from tools.dataset import _digest, _files_key

SR = 16000


def clip_mean_features(audio: np.ndarray, sr: int = SR) -> np.ndarray:
    """The 162 seed features of one clip."""
    stft = np.abs(librosa.stft(audio))
    return np.concatenate([
        librosa.feature.zero_crossing_rate(y=audio).mean(axis=1),
        librosa.feature.chroma_stft(S=stft, sr=sr).mean(axis=1),
        librosa.feature.mfcc(y=audio, sr=sr, n_mfcc=20).mean(axis=1),
        librosa.feature.rms(y=audio).mean(axis=1),
        librosa.feature.melspectrogram(y=audio, sr=sr).mean(axis=1),
    ]).astype(np.float32)


def _job(args: tuple[str, str]) -> np.ndarray:
    data_dir, path = args
    return clip_mean_features(load_audio(Path(data_dir) / path, SR))


def features(data_dir, clips: list[Clip], cache_dir: Path | None, workers: int = 2, desc: str = "baseline") -> np.ndarray:
    """(clips, 162) features of the whole clips (as the seed projects used them), cached."""
    target = None
    if cache_dir is not None:
        target = Path(cache_dir) / f"baseline-{_digest(_files_key(data_dir, clips))}.npy"
        if target.is_file():
            return np.load(target)
    jobs = [(str(data_dir), c.path) for c in clips]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            rows = list(tqdm(pool.imap(_job, jobs, chunksize=8), total=len(jobs), desc=desc, unit="clip"))
    else:
        rows = [_job(j) for j in tqdm(jobs, desc=desc, unit="clip")]
    x = np.stack(rows) if rows else np.zeros((0, 162), np.float32)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target.with_suffix(".tmp.npy"), x)
        os.replace(target.with_suffix(".tmp.npy"), target)
    return x


def train_baseline(x: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(256, 256, 64), max_iter=300, random_state=seed),
    )
    return model.fit(x, y)

