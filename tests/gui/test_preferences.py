"""The Preferences dialog on its own (real widgets): the confidence threshold in percent, kept as a fraction."""

from __future__ import annotations

import json

from realtime_ser.config import Settings, load, save
from realtime_ser.gui.preferences import PreferencesDialog, applied_when


def test_confidence_is_shown_in_percent_and_saved_as_a_fraction(qtbot, tmp_path):
    dialog = PreferencesDialog(Settings(), str(tmp_path / "config.json"))
    qtbot.addWidget(dialog)
    box = dialog.confidence
    assert box.text() == "40%" and (box.minimum(), box.maximum(), box.singleStep()) == (0, 100, 5)
    assert dialog.settings().confidence_threshold == 0.4  # the round trip, untouched
    box.stepUp()
    assert box.text() == "45%"
    path = save(dialog.settings(), tmp_path / "config.json")
    assert load(path).confidence_threshold == 0.45  # what the command line reads


def test_a_threshold_between_whole_percents_is_kept_unless_changed(qtbot, tmp_path):
    dialog = PreferencesDialog(Settings(confidence_threshold=0.425), str(tmp_path / "config.json"))
    qtbot.addWidget(dialog)
    assert dialog.confidence.text() == "42%"  # as near as the box shows it
    assert dialog.settings().confidence_threshold == 0.425  # saving other changes does not round it
    dialog.confidence.setValue(60)
    assert dialog.settings().confidence_threshold == 0.6


def test_values_finer_than_the_boxes_show_are_kept_exactly_unless_changed(qtbot, tmp_path):
    """config.json written by hand (or by the command line's users) may hold values between the boxes'
    steps: saving the dialog untouched must neither round them nor report them as changed."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"smoothing": 0.333, "partial_interval_s": 0.25, "max_utterance_s": 2.5,
                                "confidence_threshold": 0.425}))
    config = load(path)
    dialog = PreferencesDialog(config, str(path))
    qtbot.addWidget(dialog)
    shown = (dialog.smoothing.text(), dialog.partial_interval.text(), dialog.max_utterance.text())
    assert shown == ("0.33", "0.3 s", "3 s")  # as near as each box shows it
    untouched = dialog.settings()
    assert untouched == config and applied_when(config, untouched) == ""
    saved = load(save(untouched, path))
    assert (saved.smoothing, saved.partial_interval_s, saved.max_utterance_s) == (0.333, 0.25, 2.5)
    dialog.smoothing.stepUp()  # a change the user made is saved as the box shows it
    dialog.max_utterance.setValue(20)
    edited = dialog.settings()
    assert (edited.smoothing, edited.partial_interval_s, edited.max_utterance_s) == (0.38, 0.25, 20.0)
    assert applied_when(config, edited) == "From the next start or replay: smoothing, longest utterance."


def test_the_status_bar_says_what_applied_now_and_what_later():
    old = Settings()
    assert applied_when(old, old) == ""
    assert applied_when(old, Settings(confidence_threshold=0.425, smoothing=0.5, partial_interval_s=1.0)) == \
        "Applied now: confidence threshold 42.5%. From the next start or replay: smoothing, partial interval."
    assert applied_when(old, Settings(max_utterance_s=20.0, session_dir="/x", record_sessions=True), True) == (
        "From the next start or replay: longest utterance. From the next start of the microphone: recording every "
        "session. From a start without --sessions-dir: session folder.")
