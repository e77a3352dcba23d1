"""Which speakers each network of the ensemble trains on, and which it early-stops on.

Three protocols, one per build option (test speakers stay out of all of them):

* early-stopped (the default): every member trains on the training speakers and keeps
  its best epoch on the validation speakers;
* refit (``--refit``, models 1.4.0 and 1.5.0): ``build_model.prepare`` has moved the
  validation speakers into training, so members run the fixed schedule;
* cross-fitted (``--cross-fit``): the validation speakers are dealt into one fold per
  member (:func:`tools.splits.validation_folds`); member k trains on the training
  speakers plus the other folds and early-stops on fold k.  The ensemble then learns
  from every non-test speaker (what more speakers give a speaker-independent model)
  while each network still stops on voices it has never heard, and every validation
  clip gets an out-of-fold score from the one network that did not train on it.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/fitting.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import numpy as np

from realtime_ser.dsp.features import FeatureParams, normalize_window, session_columns, session_levels
from realtime_ser.errors import ConfigError
from tools import splits
from tools.dataset import clip_mean


def speaker_references(raw: np.ndarray, clip_index: np.ndarray, clip_speakers, params: FeatureParams,
                       use: bool = True, variants: bool = False) -> np.ndarray | None:
    """Per row of ``raw``: its speaker's session reference, ``(rows, k)`` (see :func:`session_levels`).

    The mean level over the speaker's windows, unlabelled, as the live path learns it from a session;
    None when ``params`` has no session columns (or ``use`` is False: a cold start).  ``variants``: the
    rows of a clip are augmented variants of it, the first its clean version (training features); the
    speaker's mean is then over clean versions, and each variant's reference moves by the variant's own
    change of level (gain, pitch shift, channel), as if the speaker had been recorded so all session.
    """
    if not (session_columns(params) and use):
        return None
    if clip_speakers is None:
        raise ConfigError("session references need the speaker of every clip")
    levels = session_levels(raw, params).astype(np.float64)
    clip_index = np.asarray(clip_index)
    base, offset = levels, 0.0
    if variants:
        clips, first_row = np.unique(clip_index, return_index=True)
        base = levels[first_row[np.searchsorted(clips, clip_index)]]
        offset = levels - base
    _, speaker_of_row = np.unique(np.asarray(clip_speakers)[clip_index], return_inverse=True)
    counts = np.bincount(speaker_of_row)
    means = np.stack([np.bincount(speaker_of_row, weights=base[:, j]) / counts for j in range(base.shape[1])], 1)
    return (means[speaker_of_row] + offset).astype(np.float32)


def session_keys(clips) -> list[str]:
    """Whose session each clip belongs to: its speaker, or, for a sample file with no known speaker, itself."""
    return [c.path if c.speaker.endswith(":unknown") else c.speaker for c in clips]


def val_windows(data: dict, params: FeatureParams, clip_ids: np.ndarray, references: bool = True):
    """(normalised windows, clip index 0..len(clip_ids)-1 of each window, labels) of some validation clips.

    Session references (:func:`speaker_references`) come from all of a speaker's validation windows.
    """
    val = data[splits.VAL]
    remap = -np.ones(len(val["clips"]), dtype=np.int64)
    remap[clip_ids] = np.arange(len(clip_ids))
    rows = np.isin(val["features"].clip_index, clip_ids)
    refs = speaker_references(val["features"].x, val["features"].clip_index, [c.speaker for c in val["clips"]],
                              params, references)
    x = normalize_window(val["features"].x[rows].astype(np.float32), params, None if refs is None else refs[rows])
    return x, remap[val["features"].clip_index[rows]], val["labels"][clip_ids]


def val_sets(data: dict, params: FeatureParams, only: np.ndarray | None = None, references: bool = True) -> dict:
    """Validation per corpus: (normalised windows, clip index of each window, clip labels); none in a refit.

    ``only``: a mask over the validation clips (a cross-fitting fold); ``references``: False scores
    without speaker references (a session's cold start).
    """
    if data.get("refit"):
        return {}
    clips = data[splits.VAL]["clips"]
    corpus = np.array([c.corpus for c in clips])
    keep = np.ones(len(clips), bool) if only is None else only
    return {name: val_windows(data, params, np.flatnonzero((corpus == name) & keep), references)
            for name in sorted(set(corpus[keep]))}


def normalizer(params: FeatureParams):
    """``normalize(batch, references=None)`` for :func:`tools.train.train`."""
    return lambda batch, references=None: normalize_window(batch, params, references)


def fit(data: dict, x: np.ndarray, clip_index: np.ndarray, labels: np.ndarray, corpora: np.ndarray,
        n_classes: int, cfg, params: FeatureParams, progress: bool = True, speakers: np.ndarray | None = None):
    """Train ``cfg``'s ensemble on these training rows under the protocol ``data`` was prepared for.

    Returns (model, one history per member, validation), where validation holds ``val_ua_<corpus>``
    and their mean ``val_ua``: of the averaged model when early-stopped, out-of-fold when
    cross-fitted, None for a refit.
    """
    from tools import train

    if data.get("cross_fit"):
        return cross_fitted(data, x, clip_index, labels, corpora, n_classes, cfg, params, progress, speakers)
    sets = val_sets(data, params)
    model, histories = train.train_members(x, clip_index, labels, corpora, n_classes, cfg=cfg, val_sets=sets,
                                           progress=progress, normalize=normalizer(params), speakers=speakers,
                                           row_reference=speaker_references(x, clip_index, speakers, params,
                                                                            variants=True))
    return model, histories, (train.validation_ua(model, sets) if sets else None)


def member_clips(n_train: int, folds: np.ndarray, k: int) -> np.ndarray:
    """Member ``k``'s clip numbering over [training clips, validation clips]: -1 for fold ``k`` (its
    early-stopping speakers, never drawn in training), 0.. for the rest, training clips first."""
    keep = np.concatenate([np.ones(n_train, bool), np.asarray(folds) != k])
    remap = -np.ones(len(keep), dtype=np.int64)
    remap[keep] = np.arange(int(keep.sum()))
    return remap


def cross_fitted(data: dict, x: np.ndarray, clip_index: np.ndarray, labels: np.ndarray, corpora: np.ndarray,
                 n_classes: int, cfg, params: FeatureParams, progress: bool = True,
                 speakers: np.ndarray | None = None):
    """The cross-fitted protocol of :func:`fit` (``data["val_variants"]``: augmented validation clips)."""
    from tools import train

    val = data[splits.VAL]
    folds = np.array(splits.validation_folds(val["clips"], cfg.members))
    val_corpora = np.array([c.corpus for c in val["clips"]])
    n_train = len(labels)
    # One copy of all rows, shared by the members; a member's excluded clips get index -1 (never drawn).
    all_x = np.concatenate([x, data["val_variants"].x])
    all_clip = np.concatenate([clip_index, data["val_variants"].clip_index + n_train])
    all_labels = np.concatenate([labels, val["labels"]])
    all_corpora = np.concatenate([corpora, val_corpora])
    all_speakers = None if speakers is None else np.concatenate([speakers, [c.speaker for c in val["clips"]]])
    predicted = -np.ones(len(val["clips"]), dtype=np.int64)
    refs = None if all_speakers is None else speaker_references(all_x, all_clip, all_speakers, params,
                                                                                 variants=True)
    members, histories = [], []
    for k, member_cfg in enumerate(train.member_configs(cfg)):
        remap = member_clips(n_train, folds, k)
        keep = remap >= 0
        sets = val_sets(data, params, only=folds == k)
        model, history = train.train(all_x, remap[all_clip], all_labels[keep], all_corpora[keep], n_classes,
                                     cfg=member_cfg, val_sets=sets, progress=progress,
                                     normalize=normalizer(params),
                                     speakers=None if all_speakers is None else all_speakers[keep],
                                     row_reference=refs)
        held = np.flatnonzero(folds == k)
        for name, (wx, wclip, _) in sets.items():  # the fold's clips of each corpus, in val_sets' order
            ids = held[val_corpora[held] == name]
            predicted[ids] = clip_mean(model.predict(wx, batch_size=256, verbose=0), wclip, len(ids)).argmax(1)
        members.append(model)
        histories.append(history)
    validation = {f"val_ua_{name}": train.unweighted_accuracy(val["labels"][val_corpora == name],
                                                              predicted[val_corpora == name])
                  for name in sorted(set(val_corpora))}
    validation["val_ua"] = float(np.mean(list(validation.values())))
    return train.average_models(members), histories, validation

