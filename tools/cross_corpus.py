"""Cross-corpus check: the same recipe trained WITHOUT one whole corpus, scored on every clip of it.

Held-out speakers of RAVDESS and EMO-DB were recorded in the same studios, with
the same sentences, as their corpus's training speakers, so in-corpus figures
flatter a model that leans on the studio or the reading style.  A user's
microphone is a new recording set-up.  Leaving out TESS (two other speakers,
another studio, another reading style) and scoring all of it measures that, and
shows whether predictions collapse onto a few classes (``predicted_share``).

Used by ``tools.experiment`` (design choices) and ``tools.build_model`` (the
model card's cross-corpus figure).  TESS is entirely in the training split, so
its clean variant-0 windows come from the training feature cache.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/cross_corpus.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import numpy as np

from realtime_ser.dsp.features import FeatureParams, normalize_window
from tools import splits
from tools.dataset import FeatureSet
from tools.evaluate import scores


def split_out(features: FeatureSet, corpora: np.ndarray, corpus: str, variants: int):
    """Training rows without ``corpus`` (clip index renumbered), and the clean window of each held-out clip.

    ``features``: the training variants, clip-major with ``variants`` rows per clip (row
    ``i * variants`` is clip ``i``'s clean, trimmed variant).
    """
    held = corpora == corpus
    keep = np.flatnonzero(~held)
    remap = -np.ones(len(corpora), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    rows = np.flatnonzero(~held[features.clip_index])
    kept = FeatureSet(features.x[rows], remap[features.clip_index[rows]])
    return kept, features.x[np.flatnonzero(held) * variants], held


def spread(pred: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Share of the predictions per class (collapse shows as one or two large shares)."""
    counts = np.bincount(pred, minlength=len(labels))
    return {label: round(float(c / max(1, counts.sum())), 3) for label, c in zip(labels, counts)}


def train_without(data: dict, corpus: str, labels: list[str], cfg, norm: str, variants: int, seed: int,
                  progress: bool = True):
    """Train ``cfg`` on the training split minus ``corpus``; return (model, params, member histories, report,
    validation), ``validation`` as :func:`tools.fitting.fit` gives it.

    ``report`` scores the Keras model on every clip of ``corpus`` (UA, WA, per-class, confusion,
    predicted shares), or is None when the training split has no clip of it.
    """
    from tools.build_model import feature_params
    from tools.fitting import fit

    tr = data[splits.TRAIN]
    corpora = np.array([c.corpus for c in tr["clips"]])
    kept, held_x, held = split_out(tr["features"], corpora, corpus, variants)
    params = feature_params(norm, kept.x, seed, data["params"])
    speakers = np.array([c.speaker for c in tr["clips"]])
    model, histories, validation = fit(data, kept.x, kept.clip_index, tr["labels"][~held], corpora[~held],
                                       len(labels), cfg, params, progress=progress, speakers=speakers[~held])
    report = None
    if held.any():
        report = score_windows(model, params, held_x, tr["labels"][held], labels, speakers[held])
        report.update(corpus=corpus, clips=int(held.sum()))
    return model, params, histories, report, validation


def score_windows(model, params: FeatureParams, raw: np.ndarray, truth: np.ndarray, labels: list[str],
                  speakers: np.ndarray | None = None) -> dict:
    """One window per clip through a Keras model: scores plus the share of predictions per class.

    ``speakers`` (per clip): their references, for features with session references; None = cold start.
    """
    from tools.fitting import speaker_references

    refs = None if speakers is None else speaker_references(raw, np.arange(len(raw)), speakers, params)
    probs = model.predict(normalize_window(raw.astype(np.float32), params, refs), batch_size=256, verbose=0)
    pred = probs.argmax(1)
    out = scores(truth, pred, labels)
    out["predicted_share"] = spread(pred, labels)
    return out

