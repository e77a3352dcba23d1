"""The About box's model card summary, from the bundled model's own metadata."""

import dataclasses

from realtime_ser.gui.about import metric_name, model_card_html


def test_model_card_lists_labels_version_metrics_and_licence(model, model_path):
    md = dataclasses.replace(model.metadata, metrics={"ravdess_test_ua": 0.5123, "ravdess_test_ua_snr10": 0.41})
    text = model_card_html(md, str(model_path))
    assert model.metadata.model_version in text and str(model_path) in text
    assert ", ".join(model.labels) in text
    assert "RAVDESS test UA</td><td>51.2%" in text
    assert "RAVDESS test UA at 10 dB SNR</td><td>41.0%" in text
    assert "non-commercial" in text and "CREMA-D" in text
    assert "Cross-corpus" not in text


def test_cross_corpus_figure_is_shown_apart_as_another_models(model, model_path):
    """The bundled model was trained on TESS; its TESS figure is the same recipe's trained WITHOUT TESS
    (models/README.md), so listing it among this model's held-out test metrics would mislead."""
    assert "cross_corpus_tess_ua" in model.metadata.metrics  # the bundled model's own metadata
    assert any(line.startswith("tess:") for line in model.metadata.training_data)
    text = model_card_html(model.metadata, str(model_path))
    tested, cross = text.split("<b>Test metrics</b>")[1].split("<b>Cross-corpus check</b>")
    assert "TESS" not in tested and "cross corpus" not in tested
    assert "(another model: this recipe trained without TESS, " \
        "scored on all its clips)" in cross
    assert f"TESS UA</td><td>{model.metadata.metrics['cross_corpus_tess_ua']:.1%}" in cross


def test_metric_names_are_readable():
    assert metric_name("float32_pooled_test_ua") == "float32 pooled test UA"
    assert metric_name("emodb_test_wa") == "EMO-DB test WA"
    assert metric_name("cross_corpus_tess_ua") == "cross corpus TESS UA"


def test_every_shortcut_users_are_told_is_bound_and_every_bound_one_is_told(make_window):
    from PySide6.QtGui import QKeySequence

    from realtime_ser.gui.shortcuts import SHORTCUTS, shortcuts_text

    w = make_window()
    bound = {a.shortcut().toString(QKeySequence.SequenceFormat.PortableText) for a in w.actions()
             if not a.shortcut().isEmpty()}
    told = set()
    for key, _ in SHORTCUTS:
        told.update(["Ctrl+Left", "Ctrl+Right"] if key == "Ctrl+← / →" else [key])
    assert told == bound
    assert "Ctrl+M mark the moment" in shortcuts_text() and "Ctrl+Left / Right seek 5 s" in shortcuts_text()
