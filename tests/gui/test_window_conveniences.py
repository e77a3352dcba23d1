"""What a desktop app is expected to do besides its views: recent files, drag and drop, a title
saying what is shown, a lasting recording sign, and no quitting a recording by accident."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QTextDocument, QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent
from realtime_ser.session.reader import Session

from .conftest import CLIPS, DEMO, REPO, wait_replay_done


def test_open_recent_lists_what_was_opened_newest_first_and_reopens_it(make_window, qtbot, settings, tmp_path):
    w = make_window()
    gone = tmp_path / "deleted.wav"
    settings.recent = [str(gone)]  # opened once, since removed: not offered
    w.open_recording(CLIPS / "SAD.wav")
    wait_replay_done(qtbot, w)
    w.open_recording(CLIPS / "ANG.wav")
    wait_replay_done(qtbot, w)
    w.play_demo()  # the bundled demo is not the user's file
    wait_replay_done(qtbot, w)
    assert settings.recent[:2] == [str(CLIPS / "ANG.wav"), str(CLIPS / "SAD.wav")]
    w.recent_menu.fill()
    entries = [a for a in w.recent_menu.actions() if not a.isSeparator()]
    assert [a.text() for a in entries] == ["&1 ANG.wav", "&2 SAD.wav", "Clear list"]
    entries[1].trigger()
    assert w.engine.info.path == CLIPS / "SAD.wav" and w.mode == "replay"
    wait_replay_done(qtbot, w)
    assert settings.recent[0] == str(CLIPS / "SAD.wav")  # reopening moves it to the top
    entries[-1].trigger()
    w.recent_menu.fill()
    assert [a.text() for a in w.recent_menu.actions() if not a.isSeparator()] == ["(none)", "Clear list"]


def test_a_session_opened_by_one_of_its_files_is_remembered_by_its_folder(make_window, qtbot, settings):
    """Sessions opened through their manifest.json were listed as identical "manifest.json"
    entries in Open recent, and Open then started inside the session folder."""
    w = make_window(realtime_replay=True)  # unpaced, the replay may be over before Record is pressed
    w.open_recording(CLIPS / "HAP.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    # The replay's end ended its recording (Record again would start the microphone).
    assert not w.record_action.isChecked() and w.engine.recorder is None
    w.realtime_replay = False  # the session's replays below need no pacing
    for name in ("manifest.json", "events.jsonl"):
        assert w.open_recording(folder / name)
        wait_replay_done(qtbot, w)
        assert settings.recent[0] == str(folder.resolve()) and settings.last_dir == str(folder.parent)
    assert settings.recent.count(str(folder.resolve())) == 1
    w.recent_menu.fill()
    assert w.recent_menu.actions()[0].text() == f"&1 {folder.name}"


_MIME_KEEP = []  # a drag event only points at its QMimeData: keep each alive as long as the test runs


def _drag(kind, path: Path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    _MIME_KEEP.append(mime)
    action = Qt.DropAction.CopyAction
    if kind == "enter":
        return QDragEnterEvent(QPoint(400, 300), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    return QDropEvent(QPointF(400, 300), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def test_dropping_a_recording_replays_it_and_other_files_are_refused(make_window, qtbot, tmp_path):
    w = make_window()
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    refused = _drag("enter", text)
    QApplication.sendEvent(w, refused)
    assert not refused.isAccepted()
    accepted = _drag("enter", CLIPS / "HAP.wav")
    QApplication.sendEvent(w, accepted)
    assert accepted.isAccepted()
    QApplication.sendEvent(w, _drag("drop", CLIPS / "HAP.wav"))
    assert w.mode == "replay" and w.engine.info.path == CLIPS / "HAP.wav"
    wait_replay_done(qtbot, w)
    assert w.timeline_model.final_events()
    _MIME_KEEP.clear()


def test_title_and_status_bar_say_what_is_shown_and_that_it_is_recorded(make_window, qtbot):
    w = make_window(realtime_replay=True)
    assert w.windowTitle() == "Live speech emotion — realtime-ser" and not w.status_recording.isVisible()
    w.open_recording(CLIPS / "NEU.wav")
    w.record_action.trigger()
    qtbot.waitUntil(lambda: w.status_recording.isVisible(), timeout=3000)
    assert w.windowTitle() == "● NEU.wav (recording) — realtime-ser"  # Qt adds no second name
    qtbot.waitUntil(lambda: w.status_recording.text() == "● REC 0:01", timeout=5000)  # the time recorded
    wait_replay_done(qtbot, w)
    qtbot.waitUntil(lambda: not w.status_recording.isVisible(), timeout=3000)
    assert w.windowTitle() == "NEU.wav — realtime-ser"


def test_closing_while_recording_asks_first_and_keeps_the_session(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)  # 25 s: still recording when the questions come
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    w.close()
    box = w._quit_box
    qtbot.waitUntil(box.isVisible, timeout=3000)
    assert w.isVisible() and w.engine.recorder is not None  # nothing stopped yet
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert w.isVisible() and w.engine.running and w.engine.recorder is not None
    w.close()
    quit_button = next(b for b in w._quit_box.buttons() if b.text() == "Stop recording and quit")
    quit_button.click()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert not w.engine.running and w.engine.recorder is None
    assert Session.open(folder).status == "complete"


def test_the_quit_question_follows_a_recording_that_ends_while_it_is_asked(make_window, qtbot):
    """The replay ends (and its recording is saved) while the question is open: it no longer asks
    about stopping a recording."""
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "NEU.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    w.close()
    box = w._quit_box
    qtbot.waitUntil(box.isVisible, timeout=3000)
    assert box.text().startswith("A session is being recorded.")
    wait_replay_done(qtbot, w)
    assert Session.open(folder).status == "complete" and w.isVisible() and box.isVisible()
    assert box.text() == "The recording has ended and was saved.\nQuit realtime-ser?"
    next(b for b in box.buttons() if b.text() == "Quit").click()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_ctrl_c_in_the_terminal_quits_and_keeps_the_recording(tmp_path, pulse, sent):
    """main.py listening on the virtual microphone and recording, then SIGINT as Ctrl-C sends it, or
    SIGHUP as a closed terminal does."""
    config = tmp_path / "config.json"
    config.write_text('{"record_sessions": true, "device": "pulse"}')
    sessions = tmp_path / "sessions"
    env = dict(os.environ, REALTIME_SER_CONFIG_DIR=str(tmp_path / "gui"), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "main.py", "--config", str(config), "--sessions-dir", str(sessions)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (sessions.is_dir() and any(sessions.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        time.sleep(2.0)  # a little audio, and the window's signal handling is in place
        proc.send_signal(sent)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    (folder,) = sessions.iterdir()
    session = Session.open(folder)
    assert session.status == "complete" and session.duration > 1.0


def test_a_silent_microphone_is_shown_beside_the_level_meter_while_it_lasts(make_window, qtbot, pulse):
    w = make_window()
    assert w.start_microphone("pulse")  # nothing plays into the virtual microphone: digital silence
    warning = w.now_panel.input_warning
    qtbot.waitUntil(warning.isVisible, timeout=8000)
    assert warning.text() == "⚠ Input silent: muted or unplugged?"
    player = pulse.play(CLIPS / "ANG.wav")
    qtbot.waitUntil(lambda: not warning.isVisible(), timeout=8000)
    assert player.wait(timeout=20) == 0
    w.stop()
    qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    assert not warning.isVisible()


def test_record_every_session_records_each_start_of_the_microphone(make_window, qtbot, pulse, tmp_path):
    """The preference means every listening session, not only the one the app starts with."""
    from realtime_ser.config import Settings

    w = make_window(config=Settings(record_sessions=True))
    sessions = tmp_path / "sessions"
    for started in (1, 2):  # the app's own start, then Start again after a Stop
        assert w.start_microphone("pulse")
        assert w.record_action.isChecked() and w.engine.recorder is not None
        qtbot.wait(300)
        w.stop()
        qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
        assert not w.record_action.isChecked()
        assert len(list(sessions.iterdir())) == started
    w.open_recording(CLIPS / "ANG.wav")  # replaying a file is not a listening session
    assert not w.record_action.isChecked() and w.engine.recorder is None
    wait_replay_done(qtbot, w)
    assert all(Session.open(folder).status == "complete" for folder in sessions.iterdir())
    assert len(list(sessions.iterdir())) == 2


def test_a_recording_ends_with_its_source_and_a_new_input_is_recorded_on_its_own(make_window, qtbot, pulse,
                                                                                 tmp_path):
    """A session holds one source (its manifest names it): opening another recording saves the one
    being made; choosing another input while the microphone is recorded goes on in a new session."""
    sessions = tmp_path / "sessions"
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 1.0, timeout=5000)
    w.record_action.setChecked(True)
    first = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.replay_position() > 2.0 and w.engine.pipeline.processor.in_speech, timeout=8000)
    w.open_recording(CLIPS / "ANG.wav")  # another recording: the demo's session is saved, not continued
    assert not w.record_action.isChecked() and w.engine.recorder is None
    assert w.statusBar().currentMessage() == f"Session saved in {first}"
    session = Session.open(first)
    assert session.status == "complete" and session.manifest["device"] == "demo-session.flac"
    assert 0.5 < session.duration < 5.0  # the demo's first seconds only, none of ANG.wav
    # The utterance cut short by the switch is closed in the session, with its final result (the
    # recording used to end before the pipeline's last events reached it).
    speech = [e for e in session.events if isinstance(e, SpeechEvent)]
    finals = {e.utterance_id for e in session.events if isinstance(e, EmotionEvent) and e.final}
    assert speech and [e.kind for e in speech[-2:]] == ["start", "end"]
    assert finals == {e.utterance_id for e in speech}
    w.stop()

    assert w.start_microphone("pulse")
    w.record_action.setChecked(True)
    second = w.engine.recorder.folder
    qtbot.wait(300)
    assert w.start_microphone("pulse")  # another input chosen while recording (here: the same again)
    third = w.engine.recorder.folder
    assert w.record_action.isChecked() and third != second
    assert w.statusBar().currentMessage().startswith(f"Session saved in {second}; this input is recorded into ")
    qtbot.wait(300)
    w.stop()
    qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    assert [Session.open(f).status for f in (second, third)] == ["complete", "complete"]
    assert sorted(sessions.iterdir()) == sorted([first, second, third])


def test_where_a_session_was_saved_is_said_from_the_home_folder(make_window, qtbot, tmp_path, monkeypatch):
    """The default session folder lies deep in the home folder; written out whole, the part that
    tells sessions apart was cut off by the status bar's indicators."""
    monkeypatch.setenv("HOME", str(tmp_path))
    # paced: an unpaced replay may be over before Record is pressed, and a recording nothing reached is not kept
    w = make_window(realtime_replay=True, sessions_dir=tmp_path / ".local" / "share" / "realtime-ser" / "sessions")
    w.open_recording(CLIPS / "NEU.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    assert w.statusBar().currentMessage() == f"Recording into ~/.local/share/realtime-ser/sessions/{folder.name}"
    wait_replay_done(qtbot, w)
    assert w.statusBar().currentMessage().endswith(
        f". Session saved in ~/.local/share/realtime-ser/sessions/{folder.name}")


def test_a_recording_can_be_named_while_it_runs(make_window, qtbot, pulse, tmp_path):
    w = make_window()
    assert not w.name_recording_action.isEnabled()  # nothing recorded: nothing to name
    assert w.start_microphone("pulse")
    w.record_action.setChecked(True)
    assert w.name_recording_action.isEnabled()
    folder = w.engine.recorder.folder
    w.name_recording_action.trigger()
    assert w._title_dialog.textValue() == ""
    w._title_dialog.setTextValue("P07 baseline")
    w._title_dialog.accept()
    assert Session.open(folder).title == "P07 baseline" and Session.open(folder).status == "recording"
    assert w.windowTitle().startswith("● P07 baseline — ") and w.windowTitle().endswith("(recording) — realtime-ser")
    w.name_recording_action.trigger()
    assert w._title_dialog.textValue() == "P07 baseline"  # the name it has, to correct
    w._title_dialog.setTextValue("P07 baseline, take 2")
    w._title_dialog.accept()
    qtbot.wait(300)
    w.record_action.setChecked(False)
    session = Session.open(folder)
    assert session.status == "complete" and session.title == "P07 baseline, take 2"
    w._update_controls()
    assert not w.name_recording_action.isEnabled()
    assert "P07" not in w.windowTitle()


def test_a_channel_of_a_stereo_recording_is_replayed_alone(make_window, qtbot, tmp_path):
    """A call with each side on its own channel: the replay bar offers the channels; the one chosen
    is analysed alone (the other side is silence here), and a band plays that channel."""
    import numpy as np
    import soundfile as sf

    from realtime_ser.audio.io import load_audio

    speech = load_audio(CLIPS / "ANG.wav", 16000)
    call = tmp_path / "call.wav"
    sf.write(call, np.stack([np.zeros_like(speech), speech], axis=1), 16000)
    w = make_window()
    w.open_recording(call)
    wait_replay_done(qtbot, w)
    box = w.replay_bar.channel_box
    assert box.isVisibleTo(w) and [box.itemText(i) for i in range(box.count())] == [
        "All channels", "Channel 1 (left)", "Channel 2 (right)"]
    assert box.currentData() is None and len(w.timeline_model.final_events()) == 1  # mixed: heard
    w.add_marker("her voice breaks", at=1.5)
    w.add_marker("", at=2.0)
    w.delete_marker(2)

    box.setCurrentIndex(1)
    box.activated.emit(1)  # as the user picks it
    wait_replay_done(qtbot, w)
    assert w.engine.info.channel == 1 and w.timeline_model.final_events() == []  # the silent side
    # the file's marks come back after the switch (same clock); a deleted number is not given again
    assert [(m.marker_id, m.time, m.note) for m in w.timeline_model.markers] == [(1, 1.5, "her voice breaks")]
    assert w.timeline_model.next_marker_id() == 3
    assert "No speech found</b> in call.wav (channel 1): the audio is silent" in w.banner.text.text()

    box.setCurrentIndex(2)
    box.activated.emit(2)
    wait_replay_done(qtbot, w)
    assert w.engine.info.channel == 2 and len(w.timeline_model.final_events()) == 1
    assert w._export_stem() == "call-channel2-emotions" and w.status_source.text() == "file: call.wav (channel 2)"
    w.replay_again(0.0)  # playing it again keeps the channel
    wait_replay_done(qtbot, w)
    assert w.engine.info.channel == 2 and len(w.timeline_model.final_events()) == 1

    w.open_recording(CLIPS / "SAD.wav")  # a mono recording: nothing to choose
    wait_replay_done(qtbot, w)
    assert not box.isVisibleTo(w) and w.engine.info.channel is None


def test_marks_on_a_plain_recording_come_back_when_it_is_replayed(make_window, qtbot, tmp_path):
    """The file is never written to; its marks are kept for it, and dropped once it changes."""
    import shutil

    recording = tmp_path / "interview.wav"
    shutil.copy(CLIPS / "HAP.wav", recording)
    before = recording.read_bytes()
    w = make_window()
    w.open_recording(recording)
    wait_replay_done(qtbot, w)
    w.add_marker("laughs", at=0.8)
    w.add_marker("", at=1.2)
    w.add_marker("", at=1.9)
    assert "(kept for this file)" in w.statusBar().currentMessage()
    w.edit_marker_note(2, "pause")
    w.delete_marker(3)
    assert recording.read_bytes() == before

    later = make_window()  # another day: the app started again
    later.open_recording(recording)
    wait_replay_done(qtbot, later)
    assert [(m.marker_id, m.time, m.note) for m in later.timeline_model.markers] == [
        (1, 0.8, "laughs"), (2, 1.2, "pause")]
    assert later.timeline_model.next_marker_id() == 4
    later.delete_marker(1)
    later.delete_marker(2)  # none left: the numbers given are still kept (not given again)
    again = make_window()
    again.open_recording(recording)
    assert again.timeline_model.markers == [] and again.timeline_model.next_marker_id() == 4
    wait_replay_done(qtbot, again)

    assert later.add_marker("again", at=0.5).marker_id == 4
    with recording.open("ab") as f:  # the recording is edited: its marks would point at the wrong moments
        f.write(b"\0" * 64)
    third = make_window()
    third.open_recording(recording)
    assert third.timeline_model.markers == [] and "has changed" in third.statusBar().currentMessage()
    wait_replay_done(qtbot, third)


def test_every_mark_on_a_plain_recording_comes_back_the_newest_too(make_window, qtbot, tmp_path):
    """The numbering carried over from the store must not take its newest mark away (it did: the
    highest number was re-added as deleted, to keep the count, which deleted that very mark)."""
    import shutil

    recording = tmp_path / "talk.wav"
    shutil.copy(CLIPS / "NEU.wav", recording)
    w = make_window()
    w.open_recording(recording)
    wait_replay_done(qtbot, w)
    for at, note in ((0.3, "a"), (0.9, "b"), (1.6, "c")):
        w.add_marker(note, at=at)

    for _ in range(2):  # reopened twice: the second time reads what the first one left
        later = make_window()
        later.open_recording(recording)
        wait_replay_done(qtbot, later)
        assert [(m.marker_id, m.note) for m in later.timeline_model.markers] == [(1, "a"), (2, "b"), (3, "c")]
        assert later.timeline_model.next_marker_id() == 4
        later.edit_marker_note(1, "a")  # any change rewrites the store from what is shown


def test_stop_during_a_replay_keeps_it_ready_to_go_on(make_window, qtbot, tmp_path):
    """Space (Stop) during a replay stops it where it is, as its end would: the bar stays usable and
    play goes on from there; a session recorded meanwhile is saved and the status bar says where."""
    w = make_window(realtime_replay=True, sessions_dir=tmp_path / "sessions")
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 1.0, timeout=5000)
    w.record_action.setChecked(True)  # Ctrl+R: record the replay as a session
    qtbot.waitUntil(lambda: w.engine.recorder is not None, timeout=2000)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not w.engine.running and w._finished_reported, timeout=5000)
    stopped_at = w.replay_position()
    assert w.mode == "replay" and w.replay_seekable and 1.0 < stopped_at < 20.0
    assert w.replay_bar.title.text().startswith("Replayed") and w.replay_bar.pause_button.isEnabled()
    message = w.statusBar().currentMessage()
    (saved,) = (tmp_path / "sessions").iterdir()
    assert message == f"Replay stopped: play or seek to go on. Session saved in {saved}", message
    assert not w.record_action.isChecked() and Session.open(saved).status == "complete"
    w.replay_bar.pause_button.click()  # play: on from where it stopped, not from the start
    qtbot.waitUntil(lambda: w.engine.running, timeout=3000)
    qtbot.waitUntil(lambda: w.replay_position() > stopped_at + 0.5, timeout=5000)
    assert w.replay_position() < stopped_at + 3.0
    w.replay_bar.pause_button.click()  # pause: the bar says so
    qtbot.waitUntil(lambda: w.replay_bar.title.text().startswith("Paused"), timeout=2000)
    w.stop()


def test_record_without_a_microphone_says_so_and_plays_no_demo(make_window, qtbot):
    from realtime_ser.gui.input_devices import InputChoice

    w = make_window(list_inputs=lambda: [InputChoice("no-such-microphone-xyz", "Unplugged mic")])
    w.record_action.trigger()
    assert not w.record_action.isChecked() and not w.engine.running and w.engine.recorder is None
    assert w.statusBar().currentMessage().startswith("Not recording: no microphone could be opened")
    assert "No microphone available:" in w.banner.text.text()
    assert w.mode == "idle"  # the demo would have been recorded in the microphone's place


def test_the_seek_slider_seeks_on_a_click_on_its_track_and_from_the_keyboard(make_window, qtbot):
    """Only a drag seeked: a click on the track or a key (its tooltip promises ← / → 5 s) moved the
    handle until the next position update put it back.  Each user action seeks once; the window's
    own position updates as the replay plays never do."""
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)  # 24.8 s
    qtbot.waitUntil(lambda: w.replay_position() > 0.5, timeout=5000)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    slider = w.replay_bar.position
    asked = []
    w.replay_bar.seek_requested.connect(asked.append)

    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(int(slider.width() * 0.6), slider.height() // 2))
    assert len(asked) == 1 and 13.0 < asked[0] < 16.5, asked  # where it was clicked, not one page on
    qtbot.waitUntil(lambda: 13.0 < w.replay_position() < 18.0, timeout=3000)  # playing on would take 12 s
    assert slider.hasFocus()

    at = slider.value() / 10.0
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert asked[1] == pytest.approx(at - 5.0)
    qtbot.waitUntil(lambda: w.replay_position() < at - 3.0, timeout=3000)  # back: only a seek goes back
    qtbot.keyClick(slider, Qt.Key.Key_PageDown)  # 30 s back: the start
    assert asked[2] == 0.0
    qtbot.waitUntil(lambda: w.replay_position() < 3.0, timeout=3000)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert asked[3] == pytest.approx(slider.value() / 10.0) and 5.0 <= asked[3] < 8.0
    qtbot.waitUntil(lambda: w.replay_position() > 5.0, timeout=3000)
    qtbot.keyClick(slider, Qt.Key.Key_End)  # the slider's, not the window's End (follow live)
    assert asked[4] == slider.maximum() / 10.0
    qtbot.waitUntil(lambda: not w.engine.running and w._finished_reported, timeout=5000)
    qtbot.keyClick(slider, Qt.Key.Key_Home)  # a finished replay plays again from there
    assert asked[5] == 0.0
    qtbot.waitUntil(lambda: w.engine.running, timeout=3000)
    qtbot.waitUntil(lambda: 0.3 < w.replay_position() < 3.0, timeout=5000)
    qtbot.wait(500)  # ticks move the handle as it plays: no seek from them
    assert len(asked) == 6, asked
    w.stop()


def test_a_long_file_name_is_elided_and_leaves_the_seek_slider_its_room(make_window, qtbot, tmp_path):
    """A 220-character name at the least window width squeezed the seek slider to about 15 px and was
    cut off mid-word; now it ends in "…" (the whole name in the tooltip) and the slider stays usable."""
    name = ("Interview with the regional planning committee about the new bus routes & the renovation "
            "of the central library, recorded in the second-floor meeting room by the press office <take 2> "
            "final version.wav")
    assert len(name) > 200
    shutil.copy(CLIPS / "SAD.wav", tmp_path / name)
    w = make_window()
    w.resize(w.minimumWidth(), 700)
    w.open_recording(tmp_path / name)
    wait_replay_done(qtbot, w)
    bar = w.replay_bar
    qtbot.waitUntil(lambda: bar.title.text().startswith("Replayed"))
    assert w.width() <= 1012

    def shown(html_text: str) -> str:
        return QTextDocumentFragment.fromHtml(html_text).toPlainText()

    assert bar.position.width() >= 200, bar.position.width()
    title = shown(bar.title.text())
    assert title.endswith("…") and title.startswith("Replayed Interview with the regional") and len(title) < 120
    drawn = QTextDocument()
    drawn.setDefaultFont(bar.title.font())
    drawn.setDocumentMargin(0)
    drawn.setHtml(bar.title.text())
    assert drawn.idealWidth() <= bar.title.contentsRect().width()  # all of it is seen, "…" included
    assert shown(bar.title.toolTip()) == name  # "<take 2>" and "&" are text there, not markup
    bar.grab().save(str(tmp_path / "replay-bar.png"))  # to look at when this fails
    # the status bar's source: shortened in the middle (it was cut at its edge with no sign), whole in its tooltip
    source = w.status_source
    assert "…" in source.text() and source.text().startswith("file: Interview") and source.text().endswith(".wav")
    assert source.fontMetrics().horizontalAdvance(source.text()) <= 420
    assert shown(source.toolTip()) == f"file: {name}"

    w.resize(1800, 700)  # more room: more of the name
    qtbot.waitUntil(lambda: len(shown(bar.title.text())) > len(title) + 40)
    w.open_recording(CLIPS / "SAD.wav")
    wait_replay_done(qtbot, w)
    assert bar.title.text() == "Replayed <b>SAD.wav</b>"  # a name that fits is not touched


def _answer_when_shown(kind, answer, tries: int = 200) -> None:
    """Run ``answer`` on the modal ``kind`` dialog (a real one, as the user would see it) once it is up."""
    def attempt(left: int) -> None:
        widget = QApplication.activeModalWidget()
        if isinstance(widget, kind):
            answer(widget)
        elif left:
            QTimer.singleShot(25, lambda: attempt(left - 1))
    QTimer.singleShot(25, lambda: attempt(tries))


def _save_as(folder: Path, name: str, file_type: str):
    """Choose ``file_type`` in Qt's save dialog, type ``name`` in ``folder`` and press Save."""
    def answer(dialog: QFileDialog) -> None:
        dialog.setDirectory(str(folder))
        dialog.selectNameFilter(file_type)
        dialog.findChild(QLineEdit, "fileNameEdit").setText(name)
        dialog.accept()
    return answer


def test_export_adds_the_chosen_types_extension_to_a_name_typed_without_one(make_window, qtbot, tmp_path):
    """"results" typed with "JSON (*.json)" chosen was refused as an unknown export format: the
    chosen type was thrown away.  Now the type's extension is added (a name with one keeps it)."""
    w = make_window()
    assert w.export_path("/data/results", "JSON (*.json)") == "/data/results.json"
    assert w.export_path("/data/take 3.5", "CSV (*.csv)") == "/data/take 3.5.csv"  # ".5" is no export type
    assert w.export_path("/data/results.", "PNG image (*.png)") == "/data/results.png"
    assert w.export_path("/data/results.CSV", "JSON (*.json)") == "/data/results.CSV"  # the name says CSV
    assert w.export_path("/data/results.png", "CSV (*.csv)") == "/data/results.png"
    w.open_recording(CLIPS / "ANG.wav")
    wait_replay_done(qtbot, w)
    utterances = len(w.timeline_model.final_events())
    assert utterances

    out = tmp_path / "results.json"
    _answer_when_shown(QFileDialog, _save_as(tmp_path, "results", "JSON (*.json)"))
    w.export_dialog()  # the real dialog, answered as a user would
    assert not w.banner.isVisible(), w.banner.text.text()
    assert w.statusBar().currentMessage() == f"Exported {utterances} utterances to {out}"
    (exported,) = json.loads(out.read_text())
    assert len(exported["events"]) >= utterances and not (tmp_path / "results").exists()

    # The dialog asked about replacing "results" (there is none), not results.json: asked here.
    out.write_text("kept")
    _answer_when_shown(QFileDialog, _save_as(tmp_path, "results", "JSON (*.json)"))
    _answer_when_shown(QMessageBox, lambda box: box.button(QMessageBox.StandardButton.No).click(), tries=400)
    w.export_dialog()
    assert out.read_text() == "kept"
    _answer_when_shown(QFileDialog, _save_as(tmp_path, "results", "JSON (*.json)"))
    _answer_when_shown(QMessageBox, lambda box: box.button(QMessageBox.StandardButton.Yes).click(), tries=400)
    w.export_dialog()
    assert json.loads(out.read_text())[0]["events"] == exported["events"]
