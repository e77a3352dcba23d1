"""Smoke test of the whole training path on a handful of real clips: train, export int8, load, predict."""

import os
from pathlib import Path

import numpy as np
import pytest

from realtime_ser.dsp.features import FeatureParams, normalize_window
from realtime_ser.errors import ModelError
from realtime_ser.model.emotion_model import EmotionModel
from realtime_ser.model.metadata import ModelMetadata, read_metadata
from tools.build_model import labelled
from tools.corpora import index_data_dir, load_label_config
from tools.dataset import eval_features, load_utterance, train_features
from tools.splits import TRAIN, VAL, make_splits

DATA = Path(os.environ.get("REALTIME_SER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def small_sets():
    config = load_label_config()
    groups = make_splits(index_data_dir(DATA))

    def two_per_class(clips):
        kept, labels = labelled([c for c in clips if c.corpus == "ravdess"], config)
        pick = np.concatenate([np.flatnonzero(labels == k)[:2] for k in range(len(config["labels"]))])
        return [kept[i] for i in pick], labels[pick]

    return config["labels"], two_per_class(groups[TRAIN]), two_per_class(groups[VAL])


def test_train_export_load_predict(small_sets, tmp_path):
    from tools import export, train

    labels, (train_clips, train_labels), (val_clips, val_labels) = small_sets
    params = FeatureParams()
    tr = train_features(DATA, train_clips, params, n_variants=2, seed=0, babble=None, cache_dir=None, workers=1)
    va = eval_features(DATA, val_clips, params, cache_dir=None, workers=1)
    cfg = train.TrainConfig(epochs=2, batch_size=8, conv_filters=(8, 8, 8), lstm_units=8, threads=1)
    model, history = train.train(
        tr.x, tr.clip_index, train_labels, np.array([c.corpus for c in train_clips]), len(labels), cfg,
        {"ravdess": (normalize_window(va.x.astype(np.float32), params), va.clip_index, val_labels)},
        progress=False, normalize=lambda x: normalize_window(x, params),
    )
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
    assert 0.0 <= history[-1]["val_ua"] <= 1.0

    int8 = export.to_tflite(model, normalize_window(export.representative_windows(tr.x, n=16), params))
    metadata = ModelMetadata(labels=labels, features=params, model_version="smoke", training_data=["14 clips"],
                             metrics={"ravdess_test_ua": 0.5}, licence="test")
    path = tmp_path / "smoke_int8.tflite"
    loaded = export.write_model(int8, metadata, path)

    back = read_metadata(path)
    assert back.labels == labels and back.features == params
    assert back.metrics == {"ravdess_test_ua": 0.5} and back.model_version == "smoke"
    assert back.quantization == "int8"

    model2 = EmotionModel.load(path)
    assert model2.labels == labels and loaded.labels == labels
    audio = load_utterance(DATA, val_clips[0])
    for probs in (model2.predict_segment(audio), model2.predict_window(audio[:8000])):
        assert probs.shape == (len(labels),)
        assert np.all(probs >= 0) and abs(probs.sum() - 1.0) < 1e-5


def test_model_without_metadata_is_refused(small_sets, tmp_path):
    from tools import export, train

    labels = small_sets[0]
    params = FeatureParams()
    model = train.build_model(params.n_frames, params.n_features, len(labels),
                              train.TrainConfig(conv_filters=(4, 4, 4), lstm_units=4))
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(export.to_tflite(model))
    with pytest.raises(ModelError, match="no realtime-ser metadata"):
        EmotionModel.load(bare)


def test_feature_augmentations_and_weights():
    from tools import train

    cfg = train.TrainConfig(cepstral_shift=0.5, cepstral_shift_p=1.0)
    rng = np.random.default_rng(0)
    x = np.zeros((4, 297, 60), np.float32)
    shifted = train.cepstral_shift(x.copy(), rng, cfg)
    assert np.all(shifted[:, :, 0] == 0) and np.all(shifted[:, :, 20:] == 0)  # level and deltas untouched
    assert np.all(np.ptp(shifted, axis=1) == 0) and np.abs(shifted[:, 0, 1:20]).min() > 0  # constant in time
    masked = train.spec_augment(np.ones((64, 297, 60), np.float32), rng, cfg)
    assert 0.5 < masked.mean() < 1.0 and set(np.unique(masked)) == {0.0, 1.0}
    labels = np.array([0] * 30 + [1] * 10 + [2] * 5)
    corpora = np.array(["a"] * 40 + ["b"] * 5)
    w = train.sample_weights(labels, corpora, 3, cfg)
    mass = np.bincount(labels, weights=w)
    np.testing.assert_allclose(mass, mass.mean(), rtol=1e-5)  # classes balanced
    assert abs(w.mean() - 1) < 1e-6
