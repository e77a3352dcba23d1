"""The Preferences dialog on its own (real widgets): the confidence threshold in percent, kept as a fraction."""

from __future__ import annotations

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


def test_the_status_bar_says_what_applied_now_and_what_later():
    old = Settings()
    assert applied_when(old, old) == ""
    assert applied_when(old, Settings(confidence_threshold=0.425, smoothing=0.5, partial_interval_s=1.0)) == \
        "Applied now: confidence threshold 42.5%. From the next start or replay: smoothing, partial interval."
    assert applied_when(old, Settings(max_utterance_s=20.0, session_dir="/x", record_sessions=True), True) == (
        "From the next start or replay: longest utterance. From the next start of the microphone: recording every "
        "session. From a start without --sessions-dir: session folder.")
