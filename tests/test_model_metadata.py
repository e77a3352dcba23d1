"""A model's metadata is checked when it is loaded, so a mismatch is one line then, not a
traceback at the first utterance."""

from __future__ import annotations

import dataclasses

import pytest

from realtime_ser.errors import ModelError
from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH, EmotionModel
from realtime_ser.model.metadata import embed_metadata, read_metadata_bytes
from tests.conftest import run_cli
from tests.test_cli import DEMO


def _with_features(tmp_path, **changes):
    """The bundled model's bytes with its feature parameters changed (no checksum beside it)."""
    data = DEFAULT_MODEL_PATH.read_bytes()
    meta = read_metadata_bytes(data)
    path = tmp_path / "changed.tflite"
    path.write_bytes(embed_metadata(data, dataclasses.replace(meta, features=dataclasses.replace(
        meta.features, **changes))))
    return path


def test_normalisation_vectors_of_the_wrong_length_are_refused_at_load(tmp_path):
    """40 of 60 means loaded, and the first utterance ended in "operands could not be broadcast"."""
    meta = read_metadata_bytes(DEFAULT_MODEL_PATH.read_bytes())
    assert len(meta.features.global_mean) == meta.features.n_features == 60
    short = _with_features(tmp_path, global_mean=meta.features.global_mean[:40],
                           global_std=meta.features.global_std[:40])
    with pytest.raises(ModelError, match=r"global_mean must hold 60 finite numbers, one per feature"):
        EmotionModel.load(short)
    proc = run_cli("analyze", str(DEMO), "--model", str(short))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"realtime-ser: error: {short}: invalid realtime-ser metadata (global_mean must hold "
                           "60 finite numbers, one per feature)\n")


@pytest.mark.parametrize("changes, says", [
    ({"global_std": (0.0,) * 60}, "global_std must be positive"),
    ({"hop_length": 0}, "hop_length must be a whole number >= 1, not 0"),
    ({"n_mfcc": 50}, "do not fit together"),
])
def test_feature_parameters_no_window_can_be_made_with_are_refused_at_load(tmp_path, changes, says):
    with pytest.raises(ModelError, match=says):
        EmotionModel.load(_with_features(tmp_path, **changes))
