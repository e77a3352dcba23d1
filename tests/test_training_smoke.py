"""Smoke test of the whole training path on a handful of real clips: train, export int8, load, predict."""

import os
import re
from dataclasses import fields
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
    params = FeatureParams(pitch=True)  # the optional pitch columns too (the bundled model has them off)
    tr = train_features(DATA, train_clips, params, n_variants=2, seed=0, babble=None, cache_dir=None, workers=1,
                        chain=True)  # the recording chains' augmentation too
    va = eval_features(DATA, val_clips, params, cache_dir=None, workers=1)
    cfg = train.TrainConfig(epochs=2, batch_size=8, conv_filters=(8, 8, 8), lstm_units=8, threads=1,
                            mixup_alpha=0.4, short_span_p=0.5)  # every augmentation path once
    model, history = train.train(
        tr.x, tr.clip_index, train_labels, np.array([c.corpus for c in train_clips]), len(labels), cfg,
        {"ravdess": (normalize_window(va.x.astype(np.float32), params), va.clip_index, val_labels)},
        progress=False, normalize=lambda x: normalize_window(x, params),
    )
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
    assert 0.0 <= history[-1]["val_ua"] <= 1.0

    # tools.experiment --conditions: the validation speakers through each input condition
    from tools.augment import INPUT_CONDITIONS
    from tools.experiment import condition_scores

    conditions = condition_scores(model, params, {VAL: {"clips": val_clips, "labels": val_labels, "features": va}},
                                  DATA, tmp_path / "cache", workers=1)
    assert list(conditions) == list(INPUT_CONDITIONS)
    for row in conditions.values():
        assert 0.0 <= row["changed"] <= 1.0 and list(row["val_ua"]) == ["ravdess"]
        assert row["val_ua_mean"] == row["val_ua"]["ravdess"]

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

    # The benchmark times the model with its own feature parameters (62 columns here, not the default 60).
    from tools.bench_model import bench

    timing = bench(path.read_bytes(), repeats=3)
    assert timing["bytes"] == path.stat().st_size
    assert timing["ms_median"] > 0 and timing["feature_ms_median"] > 0


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


def test_weight_average_follows_its_decay():
    """decay 0 keeps the latest weights; decay 1 keeps the first batch's; in between, the formula."""
    import tf_keras as keras

    from tools import train

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)).astype(np.float32), rng.standard_normal((32, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    snapshots = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: snapshots.append(model.get_weights()))
    averages = {d: train.weight_average(d) for d in (0.0, 0.5, 1.0)}
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, callbacks=[record, *averages.values()])
    assert len(snapshots) == 4
    kernel = [s[0] for s in snapshots]
    np.testing.assert_allclose(averages[0.0].weights[0], kernel[-1], rtol=1e-6)
    np.testing.assert_allclose(averages[1.0].weights[0], kernel[0], rtol=1e-6)
    expected = kernel[0]
    for k in kernel[1:]:
        expected = 0.5 * expected + 0.5 * k
    np.testing.assert_allclose(averages[0.5].weights[0], expected, rtol=1e-5)
    assert not np.allclose(kernel[0], kernel[-1])


def test_tempo_warp_short_spans_and_mixup():
    from tools import train

    rng = np.random.default_rng(0)
    ramp = np.arange(297, dtype=np.float32)
    x = np.stack([np.tile(ramp[:, None], (1, 60))] * 8)
    x[:, :, 20:] = 1.0  # deltas
    warped = train.tempo_warp(x, rng, train.TrainConfig(tempo_warp=1.3, tempo_warp_p=1.0))
    rate = warped[:, 1, 0] - warped[:, 0, 0]  # frame t of the result is frame t * rate of the input
    assert np.all((rate > 1 / 1.31) & (rate < 1.31)) and np.ptp(rate) > 0.05
    np.testing.assert_allclose(warped[:, 5, 20], rate, rtol=1e-5)  # deltas scale with the rate
    np.testing.assert_allclose(warped[:, 5, 40], rate**2, rtol=1e-5)  # delta-deltas with its square
    off = train.tempo_warp(x, rng, train.TrainConfig(tempo_warp=1.3, tempo_warp_p=0.0))
    np.testing.assert_array_equal(off, x)

    spans = train.short_spans(x, rng, 1.0)
    for row in spans[:, :, 0]:
        n = len(np.unique(row))
        assert 80 <= n <= 200 and np.array_equal(row[n:], row[: 297 - n])  # one span, repeated
    np.testing.assert_array_equal(train.short_spans(x, rng, 0.0), x)

    y = np.eye(7, dtype=np.float32)[np.arange(8) % 7]
    w = np.arange(1, 9, dtype=np.float32)
    mx, my, mw = train.mixup(x, y, w, rng, 0.4)
    np.testing.assert_allclose(my.sum(1), 1.0, rtol=1e-6)
    assert np.all(my.max(1) >= 0.5) and mx.shape == x.shape
    assert mw.min() >= 1 and mw.max() <= 8


def test_chunk_shuffle_reorders_whole_chunks_only():
    """Each shuffled window is its own 9 chunks of 33 frames, each intact, in another order."""
    from tools import train

    rng = np.random.default_rng(2)
    x = np.stack([np.tile(np.arange(297, dtype=np.float32)[:, None] + 1000 * i, (1, 60)) for i in range(40)])
    shuffled = train.chunk_shuffle(x, rng, 0.5, 9)
    moved = 0
    for window, original in zip(shuffled, x):
        chunks = window[:, 0].reshape(9, 33)
        assert np.all(np.diff(chunks, axis=1) == 1) and np.all(chunks[:, 0] % 33 == original[0, 0] % 33)
        np.testing.assert_array_equal(np.sort(window, axis=0), original)  # the same frames, none lost or doubled
        moved += not np.array_equal(window, original)
    assert 10 <= moved <= 30  # about half of them
    np.testing.assert_array_equal(train.chunk_shuffle(x, rng, 0.0, 9), x)


def test_style_mix_mixes_statistics_only_within_an_emotion():
    """Each mixed window keeps its frame pattern and takes statistics between its own and a same-label partner's."""
    from tools import train

    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 297, 60)).astype(np.float32)
    labels = np.arange(40) % 2
    x[labels == 0] = x[labels == 0] * 0.5 + 10.0  # class 0: quiet style around +10
    x[labels == 1] = x[labels == 1] * 3.0 - 10.0  # class 1: wide style around -10
    x[0] = x[0] * 0.1 + 11.0  # one odd class-0 window: a partner's style must come from class 0
    mixed = train.style_mix(x.copy(), labels, rng, 1.0, 0.3)
    mu, sd = mixed.mean(1), mixed.std(1)
    assert np.all(mu[labels == 0] > 9.0) and np.all(mu[labels == 1] < -9.0)  # never the other class's style
    assert np.all(sd[labels == 1] > 2.5)
    assert not np.allclose(mu, x.mean(1), atol=1e-3)  # something was mixed
    own = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    new = (mixed - mu[:, None]) / sd[:, None]
    np.testing.assert_allclose(new, own, atol=2e-3)  # the frames' pattern itself is untouched
    np.testing.assert_array_equal(train.style_mix(x.copy(), labels, rng, 0.0, 0.3), x)
    alone = train.style_mix(x[:1].copy(), labels[:1], rng, 1.0, 0.3)  # no partner: its own style
    np.testing.assert_allclose(alone, x[:1], atol=1e-4)


def test_vocal_tract_warp_on_mfccs_matches_warping_the_mel_axis():
    import librosa

    from realtime_ser.dsp.features import log_mel_spectrogram
    from tools import train

    params = FeatureParams()
    np.testing.assert_allclose(train.vtlp_matrix(1.0, params.n_mfcc, params.n_mels), np.eye(params.n_mfcc), atol=1e-12)
    audio = load_utterance(DATA, index_data_dir(DATA)[0])[: params.window_samples]
    log_mel = log_mel_spectrogram(audio, params).T
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=params.n_mfcc)
    for alpha in (0.9, 1.12):
        pos = np.clip(np.arange(params.n_mels) * alpha, 0, params.n_mels - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, params.n_mels - 1)
        warped = log_mel[i0] * (1 - (pos - i0))[:, None] + log_mel[i1] * (pos - i0)[:, None]
        truth = librosa.feature.mfcc(S=warped, n_mfcc=params.n_mfcc)
        approx = train.vtlp_matrix(alpha, params.n_mfcc, params.n_mels) @ mfcc
        assert np.abs(approx - truth).mean() < 0.15 * np.abs(truth - mfcc).mean()  # close, and a real change
    x = np.random.default_rng(0).standard_normal((6, 297, 60)).astype(np.float32)
    cfg = train.TrainConfig(vtlp=1.12, vtlp_p=0.0)
    np.testing.assert_array_equal(train.vocal_tract_warp(x.copy(), np.random.default_rng(1), cfg), x)
    cfg = train.TrainConfig(vtlp=1.12, vtlp_p=1.0)
    out = train.vocal_tract_warp(x.copy(), np.random.default_rng(1), cfg)
    assert np.all(np.abs(out - x).mean(axis=(1, 2)) > 0.01)
    m = train.vtlp_matrix(1.08, params.n_mfcc, params.n_mels)  # one fixed warp (experiment --tta): every block
    for block in (slice(0, 20), slice(20, 40), slice(40, 60)):
        np.testing.assert_allclose(train.mel_warp(x, 1.08)[..., block], x[..., block] @ m.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(train.mel_warp(x, 1.0), x, atol=1e-5)


def test_training_overrides_reject_unknown_settings_and_bad_values():
    from realtime_ser.errors import ConfigError
    from tools import train

    cfg = train.config_with({"conv_filters": [8, 8], "tempo_warp": 1.5}, epochs=3, seed=7)
    assert (cfg.conv_filters, cfg.tempo_warp, cfg.epochs, cfg.seed) == ((8, 8), 1.5, 3, 7)
    assert cfg.vtlp == train.TrainConfig().vtlp  # everything else stays the default
    with pytest.raises(ConfigError, match="tempo_wrap"):
        train.config_with({"tempo_wrap": 1.5})
    # values of the wrong type or range are refused before any work, each naming its setting
    for bad, says in [({"dropout": 1.0}, "dropout: must be below 1"), ({"epochs": 2.5}, "epochs: must be a whole"),
                      ({"members": 0}, "members: must be >= 1"), ({"spec_augment": "yes"}, "spec_augment: must be true"),
                      ({"conv_filters": [64, 0]}, "conv_filters: must be a list"), ({"vtlp": 0.9}, "vtlp: must be >= 1"),
                      ({"tempo_warp_p": 1.5}, "tempo_warp_p: must be <= 1"), ({"mixup_alpha": -0.1}, "must be >= 0"),
                      ({"adversary": "studio"}, "adversary: must be one of 'corpus', 'speaker'"),
                      ({"extra": [1]}, "extra: must be a JSON object")]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            train.config_with(bad)
    defaults = train.TrainConfig()
    assert train.config_with({f.name: getattr(defaults, f.name) for f in fields(defaults)}) == defaults


def test_augmentations_with_pitch_columns():
    """Cepstral augmentations leave the two pitch columns alone."""
    from tools import train

    rng = np.random.default_rng(0)
    x = np.ones((16, 297, 62), np.float32)
    x[:, :, 60] = np.arange(297) / 297  # a rising log-F0
    cfg = train.TrainConfig(tempo_warp=1.3, tempo_warp_p=1.0, feature_masks=4, time_masks=0)
    warped = train.tempo_warp(x, rng, cfg)
    assert np.all(warped[:, :, 61] == 1.0)  # voicing not scaled like a delta
    assert not np.allclose(warped[:, :, 20], 1.0)  # deltas are
    masked = train.spec_augment(x.copy(), rng, cfg)
    np.testing.assert_array_equal(masked[:, :, 60:], x[:, :, 60:])
    assert masked[:, :, :60].min() == 0.0
    warped_mfcc = train.vocal_tract_warp(x.copy(), rng, train.TrainConfig(vtlp=1.12, vtlp_p=1.0))
    np.testing.assert_array_equal(warped_mfcc[:, :, 60:], x[:, :, 60:])


def test_a_view_reads_only_its_cepstra_and_the_pitch_columns():
    """``cepstra=10`` on 20 MFCCs + deltas + pitch: columns 10-19, 30-39, 50-59 cannot move the output."""
    from realtime_ser.errors import ConfigError
    from tools import train

    columns = train.cepstra_columns(62, 10)
    assert columns == [*range(10), *range(20, 30), *range(40, 50), 60, 61]
    assert train.cepstra_columns(62, 0) == train.cepstra_columns(62, 20) == list(range(62))
    train.configure_tf(threads=1, seed=0)  # as the other tests here (TF fixes its thread count once)
    model = train.build_model(297, 62, 7, train.TrainConfig(conv_filters=(4, 4, 4), lstm_units=4, cepstra=10))
    x = np.random.default_rng(0).standard_normal((3, 297, 62)).astype(np.float32)
    base = model.predict(x, verbose=0)
    unseen, seen = x.copy(), x.copy()
    unseen[:, :, [15, 35, 59]] += 3.0
    seen[:, :, [5, 61]] += 3.0
    np.testing.assert_allclose(model.predict(unseen, verbose=0), base, atol=1e-6)
    assert not np.allclose(model.predict(seen, verbose=0), base, atol=1e-4)
    with pytest.raises(ConfigError, match="2 views for 3 members"):
        train.train_members(x, np.arange(3), np.zeros(3, int), np.array(["ravdess"] * 3), 7,
                            cfg=train.TrainConfig(members=3, member_cepstra=(10, 20)))


def test_two_members_are_averaged_and_export_to_int8(small_sets, tmp_path):
    """``members=2``: two seeds trained, one model whose output is their mean, converted like one network."""
    from tools import export, train

    labels, (train_clips, train_labels), _ = small_sets
    params = FeatureParams(pitch=True)
    tr = train_features(DATA, train_clips[:7], params, n_variants=1, seed=0, babble=None, cache_dir=None, workers=1)
    cfg = train.TrainConfig(epochs=1, batch_size=8, conv_filters=(4, 4, 4), lstm_units=4, threads=1, members=2,
                            member_cepstra=(10, 20))  # and two views: the export carries the column selection
    model, histories = train.train_members(
        tr.x, tr.clip_index, train_labels[:7], np.array(["ravdess"] * 7), len(labels), cfg=cfg,
        progress=False, normalize=lambda x: normalize_window(x, params))
    assert len(histories) == 2 and len(model.layers) == 4  # input, two members, average
    x = normalize_window(tr.x.astype(np.float32), params)
    members = [layer(x).numpy() for layer in model.layers[1:3]]
    assert not np.allclose(members[0], members[1])  # two seeds, two networks
    np.testing.assert_allclose(model.predict(x, verbose=0), (members[0] + members[1]) / 2, atol=1e-5)
    path = tmp_path / "pair.tflite"
    export.write_model(export.to_tflite(model, x), ModelMetadata(labels=labels, features=params, model_version="pair",
                                                                 training_data=[], metrics={}, licence="test"), path)
    probs = EmotionModel.load(path).predict_window(load_utterance(DATA, train_clips[0]))
    assert probs.shape == (len(labels),) and abs(probs.sum() - 1) < 1e-5


def test_cross_fitted_members_each_early_stop_on_their_own_fold(small_sets):
    """``--cross-fit``: member k trains with the other validation fold and early-stops on fold k; the
    validation figure is out-of-fold (every validation clip scored once, by the member that did not see it)."""
    from tools import fitting, train
    from tools.splits import validation_folds

    labels, (train_clips, train_labels), _ = small_sets
    val_all, val_all_labels = labelled(make_splits(index_data_dir(DATA))[VAL], load_label_config())
    pick = [next(i for i, c in enumerate(val_all) if c.speaker == speaker and val_all_labels[i] == k)
            for speaker in ("ravdess:15", "ravdess:17") for k in (0, 3)]  # two speakers, two classes each
    val_clips, val_labels = [val_all[i] for i in pick], val_all_labels[pick]
    params = FeatureParams()
    data = {TRAIN: {"clips": train_clips[:6], "labels": train_labels[:6]},
            VAL: {"clips": val_clips, "labels": val_labels,
                  "features": eval_features(DATA, val_clips, params, cache_dir=None, workers=1)},
            "val_variants": train_features(DATA, val_clips, params, n_variants=1, seed=1, babble=None,
                                           cache_dir=None, workers=1),
            "cross_fit": True}
    tr = train_features(DATA, train_clips[:6], params, n_variants=1, seed=0, babble=None, cache_dir=None, workers=1)
    assert validation_folds(val_clips, 2) == [0, 0, 1, 1]  # speaker 15 early-stops member 0, 17 member 1
    cfg = train.TrainConfig(epochs=2, batch_size=8, conv_filters=(4, 4, 4), lstm_units=4, threads=1, members=2)
    model, histories, validation = fitting.fit(data, tr.x, tr.clip_index, train_labels[:6],
                                               np.array(["ravdess"] * 6), len(labels), cfg, params, progress=False)
    assert len(histories) == 2 and all(len(h) == 2 and "val_ua_ravdess" in h[0] for h in histories)
    assert set(validation) == {"val_ua_ravdess", "val_ua"} and 0.0 <= validation["val_ua"] <= 1.0
    x = normalize_window(tr.x.astype(np.float32), params)
    assert model.predict(x, verbose=0).shape == (len(x), len(labels))  # one averaged model
    assert len(model.layers) == 4  # input, two members, average
    # out-of-fold: speaker 15's clips (0, 1) by member 0, speaker 17's (2, 3) by member 1
    va = data[VAL]["features"]
    predicted = []
    for clip in range(4):
        member = model.layers[1 + clip // 2]
        windows = normalize_window(va.x[va.clip_index == clip].astype(np.float32), params)
        predicted.append(int(member(windows).numpy().mean(0).argmax()))
    assert validation["val_ua_ravdess"] == pytest.approx(train.unweighted_accuracy(val_labels, np.array(predicted)))


def test_corpus_adversarial_head_reverses_its_gradient_and_is_not_exported(small_sets):
    """``adversarial``: a corpus head trains through a reversed gradient; the emotion model comes back alone."""
    import tensorflow as tf
    import tf_keras

    from realtime_ser.errors import ConfigError
    from tools import train

    labels, (train_clips, train_labels), _ = small_sets
    params = FeatureParams()
    tr = train_features(DATA, train_clips[:6], params, n_variants=1, seed=0, babble=None, cache_dir=None, workers=1)
    cfg = train.TrainConfig(epochs=2, batch_size=8, conv_filters=(4, 4, 4), lstm_units=4, threads=1, adversarial=0.5)
    corpora = np.array(["ravdess", "emodb"] * 3)
    model, history = train.train(tr.x, tr.clip_index, train_labels[:6], corpora, len(labels), cfg=cfg,
                                 progress=False, normalize=lambda x: normalize_window(x, params))
    assert all(np.isfinite(r["corpus_loss"]) for r in history)
    x = normalize_window(tr.x.astype(np.float32), params)
    assert model.predict(x, verbose=0).shape == (len(x), len(labels))  # no corpus output
    assert "corpus" not in [layer.name for layer in model.layers]

    fitted, strength = train.with_corpus_head(model, 2)
    inp = tf.constant(x[:2])
    conv = model.layers[2]  # the first convolution: upstream of the reversal

    def corpus_gradient(value):
        strength.assign(value)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(fitted(inp, training=False)[1][:, 0])
        return tape.gradient(loss, conv.kernel).numpy()

    # The same head without the reversal layer: its gradient is the one the reversal must flip.
    embedding = tf_keras.Model(model.input, model.get_layer("embedding_dropout").input)
    head = [fitted.get_layer("corpus_hidden"), fitted.get_layer("corpus")]
    with tf.GradientTape() as tape:
        plain_loss = tf.reduce_sum(head[1](head[0](embedding(inp, training=False)))[:, 0])
    plain = tape.gradient(plain_loss, conv.kernel).numpy()
    assert np.abs(plain).max() > 0
    assert not corpus_gradient(0.0).any()  # strength 0: the head cannot reach the shared layers
    np.testing.assert_allclose(corpus_gradient(1.0), -plain, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(corpus_gradient(0.5), -0.5 * plain, rtol=1e-4, atol=1e-9)
    with pytest.raises(ConfigError, match="mixup_alpha"):
        train.train(tr.x, tr.clip_index, train_labels[:6], corpora, len(labels),
                    cfg=train.TrainConfig(adversarial=0.5, mixup_alpha=0.2, epochs=1, threads=1), progress=False)


def test_speaker_adversary_guesses_the_training_speakers(small_sets):
    """``adversary`` "speaker": the head's classes are the clips' speakers, across corpora; it needs them."""
    from realtime_ser.errors import ConfigError
    from tools import train

    labels, (train_clips, train_labels), _ = small_sets
    corpora = np.array(["ravdess", "ravdess", "ravdess", "emodb", "emodb", "emodb"])
    speakers = np.array(["ravdess:01", "ravdess:02", "ravdess:01", "emodb:03", "emodb:08", "emodb:03"])
    cfg = train.TrainConfig(adversarial=0.5, adversary="speaker")
    n, ids = train.adversary_targets(cfg, corpora, speakers)
    assert n == 4 and ids.tolist() == [2, 3, 2, 0, 1, 0]  # sorted speaker names
    assert train.adversary_targets(train.TrainConfig(adversarial=0.5), corpora, speakers)[0] == 2  # the corpus
    with pytest.raises(ConfigError, match="speaker of every"):
        train.adversary_targets(cfg, corpora, None)
    with pytest.raises(ConfigError, match="adversary must be"):
        train.adversary_targets(train.TrainConfig(adversary="studio"), corpora, speakers)

    params = FeatureParams()
    tr = train_features(DATA, train_clips[:6], params, n_variants=1, seed=0, babble=None, cache_dir=None, workers=1)
    small = train.TrainConfig(epochs=1, batch_size=8, conv_filters=(4, 4, 4), lstm_units=4, threads=1,
                              adversarial=0.5, adversary="speaker")
    model, history = train.train(tr.x, tr.clip_index, train_labels[:6], corpora, len(labels), cfg=small,
                                 progress=False, normalize=lambda x: normalize_window(x, params), speakers=speakers)
    assert np.isfinite(history[0]["corpus_loss"])
    assert model.output_shape == (None, len(labels))  # the head is not exported


def test_experiment_test_time_warps_average_warped_windows():
    """``tools.experiment --tta``: the same network scores each raw window once per mel warp, averaged."""
    from tools import train
    from tools.experiment import warped_probs

    train.configure_tf(threads=1, seed=0)
    params = FeatureParams()
    model = train.build_model(297, 60, 7, train.TrainConfig(conv_filters=(4, 4, 4), lstm_units=4))
    raw = (5 * np.random.default_rng(0).standard_normal((3, 297, 60))).astype(np.float16)
    plain = model.predict(normalize_window(raw.astype(np.float32), params), verbose=0)
    np.testing.assert_allclose(warped_probs(model, raw, params, [1.0]), plain, atol=1e-5)
    alphas = [0.9259, 1.0, 1.08]
    manual = np.mean([model.predict(normalize_window(train.mel_warp(raw.astype(np.float32), a), params), verbose=0)
                      for a in alphas], axis=0)
    got = warped_probs(model, raw, params, alphas)
    np.testing.assert_allclose(got, manual, atol=1e-5)
    assert not np.allclose(got, plain, atol=1e-4)


def test_training_with_session_references(small_sets, tmp_path):
    """Session-referenced features: each row gets its speaker's reference, some dropped (NaN = own level)."""
    from tools import train
    from tools.build_model import base_params, global_norm_params
    from tools.fitting import normalizer, speaker_references

    labels, (train_clips, train_labels), _ = small_sets
    base = base_params("session", session_level=True)
    assert base.pitch and base.pitch_relative and base.pitch_session and base.session_level
    tr = train_features(DATA, train_clips[:6], base, n_variants=2, seed=0, babble=None, cache_dir=None, workers=1)
    params = global_norm_params(base, tr.x, seed=0)
    speakers = np.array([c.speaker for c in train_clips[:6]])
    refs = speaker_references(tr.x, tr.clip_index, speakers, params)
    assert refs.shape == (len(tr.x), 2) and np.isfinite(refs).all()
    for s in set(speakers):  # one reference per speaker
        assert len(np.unique(refs[speakers[tr.clip_index] == s], axis=0)) == 1
    seen = []
    norm = normalizer(params)

    def recording(batch, references=None):
        seen.append(references)
        return norm(batch, references)

    small = train.TrainConfig(epochs=2, batch_size=8, conv_filters=(4, 4, 4), lstm_units=4, threads=1,
                              reference_dropout=0.5)
    model, history = train.train(tr.x, tr.clip_index, train_labels[:6], np.array(["ravdess"] * 6), len(labels),
                                 cfg=small, progress=False, normalize=recording, row_reference=refs)
    assert len(history) == 2 and model.input_shape[-1] == params.n_features
    drawn = np.concatenate(seen)
    assert np.isnan(drawn).any() and np.isfinite(drawn).any()  # some windows without, some with a reference

    # Exported, the model learns the session's speaker from finished utterances only, and a new stream forgets it.
    from tools import export
    from realtime_ser.pipeline.processor import StreamProcessor

    metadata = ModelMetadata(labels=labels, features=params, model_version="smoke", training_data=["6 clips"],
                             metrics={}, licence="test")
    int8 = export.to_tflite(model, normalize_window(export.representative_windows(tr.x, n=16), params))
    live = export.write_model(int8, metadata, tmp_path / "session.tflite")
    assert live.session_reference is not None and np.isnan(live.session_reference.value).all()
    utterances = [load_utterance(DATA, c) for c in train_clips[:4]]
    live.predict_window(utterances[0])  # a partial result reads the reference but does not feed it
    assert live.session_reference.windows == 0
    for audio in utterances:
        probs = live.predict_segment(audio)
        assert probs.shape == (len(labels),) and abs(probs.sum() - 1.0) < 1e-5
    assert live.session_reference.windows >= 4 and np.isfinite(live.session_reference.value).all()
    StreamProcessor(live)
    assert live.session_reference.windows == 0


def test_session_references_without_global_normalisation_are_refused_up_front(capsys):
    from tools import build_model, experiment

    for main, argv in ((build_model.main, ["--norm", "window", "--session-level"]),
                       (experiment.main, ["--name", "x", "--norm", "window", "--pitch", "session"])):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "need --norm global or channel" in capsys.readouterr().err
