"""Speaker-independent splits: the fixed rule, and no speaker in two splits."""

import os
from pathlib import Path

import numpy as np
import pytest

from tools.corpora import Clip, index_data_dir
from tools.splits import EXTRA, TEST, TRAIN, VAL, assert_speaker_disjoint, describe, make_splits, split_of

DATA = Path(os.environ.get("REALTIME_SER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def groups():
    return make_splits(index_data_dir(DATA))


def _speakers(clips, corpus):
    return {c.speaker.split(":")[1] for c in clips if c.corpus == corpus}


def test_no_speaker_in_two_splits(groups):
    speakers = {name: {c.speaker for c in clips} for name, clips in groups.items()}
    assert not speakers[TRAIN] & speakers[TEST]
    assert not speakers[TRAIN] & speakers[VAL]
    assert not speakers[VAL] & speakers[TEST]


def test_fixed_held_out_speakers(groups):
    assert _speakers(groups[TEST], "ravdess") == {"19", "20", "21", "22", "23", "24"}
    assert _speakers(groups[VAL], "ravdess") == {"15", "16", "17", "18"}
    assert _speakers(groups[TEST], "emodb") == {"03", "10", "08", "09"}
    assert _speakers(groups[VAL], "emodb") == {"11", "13"}
    assert _speakers(groups[TRAIN], "tess") == {"OAF", "YAF"}
    assert {c.corpus for c in groups[EXTRA]} == {"crema-d"} and len(groups[EXTRA]) == 6


def test_held_out_speakers_balanced_by_gender(groups):
    for name in (TEST, VAL):
        for corpus in ("ravdess", "emodb"):
            genders = {}
            for c in groups[name]:
                if c.corpus == corpus:
                    genders[c.speaker] = c.gender
            assert sorted(genders.values()).count("m") == sorted(genders.values()).count("f")


def test_overlap_is_detected():
    a = Clip("a.wav", "ravdess", "ravdess:01", "m", "en", "happy")
    b = Clip("b.wav", "ravdess", "ravdess:01", "m", "en", "sad")
    with pytest.raises(AssertionError, match="ravdess:01"):
        assert_speaker_disjoint({TRAIN: [a], TEST: [b]})


def test_corpora_without_rule_are_never_trained_on():
    assert split_of(Clip("x.wav", "other", "other:1", "", "en", "happy")) == EXTRA
    assert split_of(Clip("x.wav", "savee", "savee:KL", "m", "en", "anger")) == TEST
    assert split_of(Clip("x.wav", "crema-d", "crema-d:1015", "", "en", "anger")) == TEST


def test_describe_counts(groups):
    table = describe(groups)
    assert table[TEST]["ravdess"]["clips"] == 360
    assert table[TRAIN]["ravdess"]["clips"] == 840


def test_cross_corpus_split_keeps_no_row_of_the_held_out_corpus():
    from tools.cross_corpus import split_out, spread
    from tools.dataset import FeatureSet

    corpora = np.array(["ravdess", "tess", "emodb", "tess"])
    variants = 3
    x = np.repeat(np.arange(4), variants)[:, None, None] * 10 + np.tile(np.arange(variants), 4)[:, None, None]
    kept, held_x, held = split_out(FeatureSet(x.astype(np.float16), np.repeat(np.arange(4), variants)),
                                   corpora, "tess", variants)
    assert held.tolist() == [False, True, False, True]
    assert kept.clip_index.tolist() == [0, 0, 0, 1, 1, 1]  # ravdess -> 0, emodb -> 1
    assert kept.x[:, 0, 0].tolist() == [0, 1, 2, 20, 21, 22]
    assert held_x[:, 0, 0].tolist() == [10, 30]  # the clean variant 0 of each TESS clip
    assert spread(np.array([0, 0, 2, 0]), ["a", "b", "c"]) == {"a": 0.75, "b": 0.0, "c": 0.25}


def test_refit_moves_validation_speakers_into_training_and_never_test_speakers(groups):
    """The final fit (``--refit``) trains on training + validation speakers; test speakers stay out."""
    from tools.build_model import join_validation
    from tools.fitting import val_sets
    from tools.dataset import FeatureSet

    variants = 2

    def rows(n, first):  # n clips x variants rows; frame value = the clip's position in the merged list
        values = np.repeat(np.arange(first, first + n), variants).astype(np.float16)
        return FeatureSet(values[:, None, None], np.repeat(np.arange(n), variants))

    train, val = groups[TRAIN], groups[VAL]
    data = {"splits": describe(groups), "refit": True,
            TRAIN: {"clips": list(train), "labels": np.zeros(len(train), int), "features": rows(len(train), 0)},
            VAL: {"clips": list(val), "labels": np.ones(len(val), int)}}
    join_validation(data, groups, rows(len(val), len(train)))
    tr = data[TRAIN]
    assert len(tr["clips"]) == len(train) + len(val) == len(tr["labels"])
    assert tr["labels"][len(train):].tolist() == [1] * len(val)
    # each row still points at its own clip, clip-major with the variants together
    assert np.array_equal(tr["features"].x[:, 0, 0], tr["features"].clip_index.astype(np.float16))
    assert np.array_equal(tr["features"].clip_index, np.repeat(np.arange(len(tr["clips"])), variants))
    assert VAL not in data["splits"]
    assert data["splits"][TRAIN]["ravdess"]["speakers"] == [f"{a:02d}" for a in range(1, 19)]
    assert data["splits"][TRAIN]["emodb"]["speakers"] == ["11", "12", "13", "14", "15", "16"]
    assert data["validation_speakers"]["emodb"]["speakers"] == ["11", "13"]
    assert not {c.speaker for c in tr["clips"]} & {c.speaker for c in groups[TEST]}
    assert val_sets(data, params=None) == {}  # nothing left to early-stop on


def test_validation_folds_deal_each_corpus_by_gender(groups):
    """Cross-fitting folds (``--cross-fit``): fixed by rule, whole speakers, both sexes of RAVDESS in each."""
    from tools.splits import validation_folds

    val = groups[VAL]
    folds = validation_folds(val, 2)
    by_fold: dict[int, set[str]] = {}
    for clip, fold in zip(val, folds):
        by_fold.setdefault(fold, set()).add(clip.speaker)
    assert by_fold == {0: {"emodb:13", "ravdess:15", "ravdess:16"}, 1: {"emodb:11", "ravdess:17", "ravdess:18"}}
    for speakers in by_fold.values():
        assert {c.gender for c in val if c.speaker in speakers and c.corpus == "ravdess"} == {"m", "f"}
    synthetic = [Clip(f"{s}.wav", "savee", f"savee:{s}", "m", "en", "happy") for s in ("JK", "JK", "DC")]
    assert validation_folds(synthetic, 3) == [1, 1, 0]  # fewer speakers than folds: fold 2 goes without


def test_cross_fitted_member_never_draws_its_own_fold():
    from tools.fitting import member_clips

    folds = np.array([0, 1, 1, 0, 1])
    remap = member_clips(3, folds, 1)
    assert remap.tolist() == [0, 1, 2, 3, -1, -1, 4, -1]  # fold-1 validation clips -1, the rest numbered on
    assert member_clips(3, folds, 0).tolist() == [0, 1, 2, -1, 3, 4, -1, 5]


def test_learnt_from_adds_the_validation_speakers_only_when_cross_fitted(groups):
    from tools.build_model import training_data
    from tools.splits import learnt_from

    table = describe(groups)
    plain, crossed = learnt_from(table, False), learnt_from(table, True)
    assert plain["emodb"]["speakers"] == ["12", "14", "15", "16"]
    assert crossed["emodb"]["speakers"] == ["11", "12", "13", "14", "15", "16"]
    assert crossed["ravdess"]["clips"] == plain["ravdess"]["clips"] + table[VAL]["ravdess"]["clips"]
    assert not set(crossed["ravdess"]["speakers"]) & {f"{a:02d}" for a in range(19, 25)}  # never test speakers
    assert "emodb: 347 clips, speakers 11, 12, 13, 14, 15, 16" in training_data({"splits": table, "cross_fit": True})
