"""Markers: a moment the user marks while listening or replaying, kept in the recording, shown and exported."""

from __future__ import annotations

import csv
import json

from PySide6.QtCore import Qt

from realtime_ser.pipeline.events import MarkerEvent
from realtime_ser.session.reader import Session

from .conftest import CLIPS, DEMO, wait_replay_done


def test_markers_are_recorded_replayed_with_the_session_and_exported(make_window, qtbot, tmp_path):
    w = make_window(realtime_replay=True)
    assert not w.mark_action.isEnabled() and w.add_marker() is None  # nothing running: nothing to mark
    assert "Start listening" in w.statusBar().currentMessage()
    w.open_recording(CLIPS / "HAP.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.6, timeout=10000)
    qtbot.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # Mark moment
    qtbot.waitUntil(lambda: w.envelope.end_time > 1.2, timeout=10000)
    w.mark_note_action.trigger()  # Mark with note: the time is taken now, the note typed after
    dialog = w._note_dialog
    qtbot.waitUntil(lambda: w.envelope.end_time > 1.5, timeout=10000)
    dialog.setTextValue(" laughs {loudly} ")
    dialog.accept()
    first, second = w.timeline_model.markers
    assert (first.marker_id, first.note, second.marker_id, second.note) == (1, "", 2, "laughs {loudly}")
    assert 0.6 <= first.time < second.time < 1.5
    assert w.timeline.marker_count() == 2 and w.waveform.marker_count() == 2  # both seen at once
    assert "laughs {loudly}" in w.timeline.marker_line(2).label.toPlainText()
    assert w.timeline.tooltip_text(second.time).splitlines()[0] == f"Marker 2 at 0:0{second.time:.1f}: laughs {{loudly}}"
    wait_replay_done(qtbot, w)

    stored = Session.open(folder).markers  # on the session audio's clock, as the results
    assert [(m.marker_id, m.note) for m in stored] == [(1, ""), (2, "laughs {loudly}")]
    assert [m.time for m in stored] == [first.time, second.time]

    w.realtime_replay = False
    assert w.open_recording(folder)
    assert [(m.marker_id, m.time) for m in w.timeline_model.markers] == [(1, first.time), (2, second.time)]
    wait_replay_done(qtbot, w)
    assert w.timeline.marker_count() == 2
    w.seek(0.0)  # replay finished: nothing to seek; the markers stay
    rows = list(csv.DictReader(w.export_to(tmp_path / "t.csv").open()))
    assert [r["note"] for r in rows if r["label"] == "marker"] == ["", "laughs {loudly}"]
    times = [float(r["end"]) for r in rows]  # as analyze orders them: a result at its utterance's end
    assert times == sorted(times) and len(rows) == len(w.timeline_model.final_events()) + 2
    data = json.loads(w.export_to(tmp_path / "t.json").read_text())
    assert [m["note"] for m in data[0]["events"] if m["type"] == "marker"] == ["", "laughs {loudly}"]


def test_a_note_typed_after_the_source_changed_is_not_put_on_the_new_one(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "SAD.wav")
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.3, timeout=10000)
    w.mark_with_note()
    dialog = w._note_dialog
    w.open_recording(CLIPS / "ANG.wav")  # another recording while the note is being typed
    dialog.setTextValue("too late")
    dialog.accept()
    assert w.timeline_model.markers == []


def test_marks_set_while_replaying_a_session_are_saved_in_it(make_window, qtbot, tmp_path):
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "DIS.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    assert Session.open(folder).markers == []

    assert w.open_recording(folder)  # a reviewer goes through the session and marks a moment
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.8, timeout=10000)
    w.replay_bar.pause_button.setChecked(True)
    qtbot.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert "(saved in the session)" in w.statusBar().currentMessage()
    (marker,) = w.timeline_model.markers
    assert Session.open(folder).markers == [marker]
    # another program (listen --replay, a second window) annotates the session meanwhile: the
    # number the window would give next is taken, and its marker keeps it (the last line per number counts)
    from realtime_ser.session.annotate import add_marker

    add_marker(folder, MarkerEvent(marker.marker_id + 1, 0.2, "from elsewhere"))
    second = w.add_marker("from the window")
    assert second.marker_id == marker.marker_id + 2 and w.timeline_model.marker(second.marker_id) == second
    assert f"Marker {second.marker_id} at" in w.statusBar().currentMessage()
    assert sorted(m.note for m in Session.open(folder).markers) == ["", "from elsewhere", "from the window"]

    w.open_recording(CLIPS / "DIS.wav")  # a plain file: the mark is kept for it, not in the session
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.3, timeout=10000)
    w.add_marker("not in the session")
    assert "(kept for this file)" in w.statusBar().currentMessage() and len(Session.open(folder).markers) == 3


def _record_a_replay(make_window, qtbot):
    """A window that recorded its replay of a clip as a session: ``(window, session folder)``. Paced: an
    unpaced replay may be over before Record is pressed, and a recording nothing reached is not kept."""
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "FEA.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    return w, folder


def test_a_deleted_number_is_not_given_again_when_a_session_is_replayed_later(make_window, qtbot, tmp_path):
    """A session's log keeps a deleted marker as a line saying so; a later replay must number new
    marks after it, or the new mark would share its number (and a reader could take it as deleted)."""
    w, folder = _record_a_replay(make_window, qtbot)
    assert w.open_recording(folder)
    wait_replay_done(qtbot, w)
    w.add_marker("first", at=0.4)
    w.add_marker("second", at=0.8)
    w.delete_marker(2)

    later = make_window()
    assert later.open_recording(folder)
    wait_replay_done(qtbot, later)
    assert [m.marker_id for m in later.timeline_model.markers] == [1]
    assert later.add_marker("after", at=1.0).marker_id == 3
    session = Session.open(folder)
    assert [(m.marker_id, m.note) for m in session.markers] == [(1, "first"), (3, "after")]
    assert session.last_marker_id == 3


def test_a_session_with_damaged_event_lines_replays_and_says_what_was_skipped(make_window, qtbot, tmp_path):
    """As ``analyze`` warns: the lines are skipped, the markers on the others shown, and the user told."""
    w, folder = _record_a_replay(make_window, qtbot)
    assert w.open_recording(folder)
    w.add_marker("kept", at=0.5)
    wait_replay_done(qtbot, w)
    with (folder / "events.jsonl").open("a") as log:
        log.write("garbage{\n")

    later = make_window()
    assert later.open_recording(folder / "manifest.json")
    assert [m.note for m in later.timeline_model.markers] == ["kept"]
    message = later.statusBar().currentMessage()
    assert message.startswith("warning: ") and "skipped 1 malformed event line(s)" in message
    wait_replay_done(qtbot, later)


def test_double_clicking_a_marker_replays_from_just_before_it(make_window, qtbot):
    from realtime_ser.gui.window_markers import MARKER_LEAD_S

    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.envelope.end_time > 1.0, timeout=10000)
    marker = w.add_marker("here", at=0.5)
    qtbot.waitUntil(lambda: w.envelope.end_time > 4.0, timeout=10000)
    assert "Double-click to replay from just before it" in w.timeline.tooltip_text(marker.time)
    w.timeline.plot.double_clicked.emit(marker.time + 0.05)  # a few pixels off still hits the line
    qtbot.waitUntil(lambda: w.envelope.end_time < 2.0, timeout=5000)  # back at max(0, 0.5 - 2) = 0
    assert "marker 1" in w.statusBar().currentMessage() and MARKER_LEAD_S == 2.0
    assert w.timeline_model.markers == [marker]  # seeking back recomputes results, keeps marks
    w.stop()  # stopped where it is, as at its end: a marker still replays from just before it
    w.timeline.plot.double_clicked.emit(marker.time)
    qtbot.waitUntil(lambda: w.engine.running, timeout=5000)
    assert "marker 1" in w.statusBar().currentMessage()
    w.stop()


def test_while_listening_a_marker_is_not_gone_back_to_but_its_note_edited(make_window, qtbot, pulse):
    """Live, there is nothing to replay: double-clicking a marker on the timeline says where that works,
    and in the marker list it edits the note."""
    w = make_window()
    assert w.start_microphone("pulse")
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.5, timeout=5000)
    marker = w.add_marker("live note")
    w.timeline.plot.double_clicked.emit(marker.time)
    assert "in a replayed recording" in w.statusBar().currentMessage() and w.mode == "microphone"
    w.show_marker_list()
    lst = w.marker_list
    assert not lst.can_go_to and not lst.go_button.isEnabled()
    lst.table.cellDoubleClicked.emit(0, 0)
    assert w._note_dialog.textValue() == "live note" and w._note_dialog.isVisible()
    w._note_dialog.reject()
    w.stop()


def test_a_marker_is_edited_or_deleted_from_its_right_click_menu_and_the_session_keeps_that(
        make_window, qtbot, tmp_path):
    import json as _json

    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "NEU.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.envelope.end_time > 1.0, timeout=10000)
    first, second = w.add_marker("tpyo", at=0.3), w.add_marker("by mistake", at=0.8)
    assert "Right-click to edit its note or delete it" in w.timeline.tooltip_text(first.time)

    w.timeline.plot.right_clicked.emit(first.time + 0.05, w.mapToGlobal(w.rect().center()))
    edit, delete = w.marker_menu.actions()
    assert (edit.text(), delete.text()) == ("Edit note…", "Delete marker")
    edit.trigger()
    assert w._note_dialog.textValue() == "tpyo"  # the note it has, to correct
    w._note_dialog.setTextValue("typo fixed")
    w._note_dialog.accept()
    w.timeline.plot.right_clicked.emit(second.time, w.mapToGlobal(w.rect().center()))
    w.marker_menu.actions()[1].trigger()
    assert "Marker 2 deleted (saved in the recording)" in w.statusBar().currentMessage()
    assert [(m.marker_id, m.note) for m in w.timeline_model.markers] == [(1, "typo fixed")]
    assert "typo fixed" in w.timeline.marker_line(1).label.toPlainText() and w.timeline.marker_line(2) is None
    assert w.add_marker(at=1.0).marker_id == 3  # a deleted marker's number is not given again
    w.marker_menu.close()
    w.marker_menu = None
    w.timeline.plot.right_clicked.emit(5.0, w.mapToGlobal(w.rect().center()))  # no marker there: no menu
    assert w.marker_menu is None
    wait_replay_done(qtbot, w)

    # the event log only grew: the edit and the deletion are later lines that win
    lines = [_json.loads(l) for l in (folder / "events.jsonl").read_text().splitlines()]
    assert [(d["marker_id"], d["note"], d.get("removed", False)) for d in lines if d["type"] == "marker"] == [
        (1, "tpyo", False), (2, "by mistake", False), (1, "typo fixed", False), (2, "by mistake", True),
        (3, "", False)]
    assert [(m.marker_id, m.note) for m in Session.open(folder).markers] == [(1, "typo fixed"), (3, "")]

    w.realtime_replay = False
    assert w.open_recording(folder)  # reviewing it later: the same markers; a deletion is saved in it
    assert [m.marker_id for m in w.timeline_model.markers] == [1, 3]
    wait_replay_done(qtbot, w)
    w.delete_marker(3)
    assert "(saved in the session)" in w.statusBar().currentMessage()
    assert [m.marker_id for m in Session.open(folder).markers] == [1]
    data = json.loads(w.export_to(tmp_path / "t.json").read_text())
    assert [(m["marker_id"], m["note"]) for m in data[0]["events"] if m["type"] == "marker"] == [(1, "typo fixed")]


def test_the_marker_list_goes_to_edits_and_deletes_and_follows_the_markers(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.envelope.end_time > 1.0, timeout=10000)
    w.add_marker("first", at=0.4)
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Audio -> Markers
    lst = w.marker_list
    assert lst.isVisible() and lst.table.rowCount() == 1 and lst.heading.text() == "1 marker in this recording"
    w.add_marker("second", at=0.9)  # set while the list is open: it follows
    assert [lst.table.item(r, 2).text() for r in range(lst.table.rowCount())] == ["first", "second"]
    assert lst.table.item(1, 1).text() == "0:00.9"
    assert lst.selected_id() == 1 and lst.go_button.isEnabled()  # the first is chosen: the buttons work at once
    buttons = lst.go_button.parentWidget()
    order = sorted((lst.go_button, lst.edit_button, lst.delete_button), key=lambda b: b.mapTo(buttons, b.rect().topLeft()).x())
    assert [b.text() for b in order] == ["Go to", "Edit note…", "Delete"]  # the destructive one last

    lst.table.selectRow(1)
    lst.edit_button.click()
    assert w._note_dialog.textValue() == "second"
    w._note_dialog.setTextValue("second, reworded")
    w._note_dialog.accept()
    assert lst.table.item(1, 2).text() == "second, reworded" and lst.selected_id() == 2  # still chosen

    qtbot.waitUntil(lambda: w.envelope.end_time > 4.0, timeout=10000)
    lst.table.selectRow(0)
    lst.go_button.click()  # replay from just before marker 1
    qtbot.waitUntil(lambda: w.envelope.end_time < 2.0, timeout=5000)
    lst.delete_button.click()
    assert [m.note for m in w.timeline_model.markers] == ["second, reworded"] and lst.table.rowCount() == 1
    w.stop()
    assert lst.can_go_to  # a stopped replay goes on from a marker, as a finished one does
    w.open_recording(CLIPS / "ANG.wav")  # another source: its own (no) markers
    assert lst.table.rowCount() == 0 and lst.heading.text().startswith("No markers yet")


def test_a_marker_caption_keeps_to_the_room_before_the_next_marker():
    from realtime_ser.gui.timeline_view import marker_caption

    width = lambda text: 7 * len(text)  # noqa: E731 (7 px per character)
    laugh = MarkerEvent(2, 10.0, "participant laughs")
    assert marker_caption(laugh, float("inf"), width) == "2 participant laughs"
    assert marker_caption(MarkerEvent(3, 1.0, "x" * 40), float("inf"), width) == "3 " + "x" * 21 + "…"  # 24
    short = marker_caption(laugh, 80.0, width)
    assert short.startswith("2 part") and short.endswith("…") and width(short) + 8 <= 80
    assert marker_caption(laugh, 20.0, width) == "2"  # little room: the number (the tooltip has the note)
    assert marker_caption(MarkerEvent(4, 1.0, ""), 20.0, width) == "4"
    assert marker_caption(laugh, 10.0, width) == "2"  # too close to the next even for that: still the number


def test_close_markers_on_the_timeline_do_not_print_over_each_other(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.envelope.end_time > 4.0, timeout=10000)
    for i, at in enumerate((1.0, 1.3, 2.0)):
        w.add_marker(f"a long note about moment {i}", at=at)
    w.timeline.refresh(w.envelope.end_time)
    rects = [w.timeline.marker_line(i).label.sceneBoundingRect() for i in (1, 2, 3)]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])  # never over each other
    assert w.timeline.marker_line(3).caption == "3 a long note about mom…"  # the last has room
    w.timeline.set_following(False)  # as the mouse wheel does
    w.timeline.plot.getViewBox().setXRange(0.0, 4.0, padding=0)  # zoomed in: room for more of each
    w.timeline.refresh(w.envelope.end_time)
    assert all(w.timeline.marker_line(i).caption.startswith(f"{i} a") for i in (1, 2, 3))


def test_markers_half_a_second_apart_each_show_their_number_under_the_bar_captions(make_window, qtbot):
    """Markers 0.5 s apart (8 px at the usual zoom) were bare dashed lines, no telling which was which,
    and a marker's line was drawn over a bar's caption ("sa|d?")."""
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    times = (11.0, 11.5, 12.0, 12.5, 20.0)
    for at in times:
        w.add_marker("", at=at)
    w.timeline.refresh(w.envelope.end_time)
    lines = [w.timeline.marker_line(i) for i in range(1, len(times) + 1)]
    assert [line.label.toPlainText() for line in lines] == ["1", "2", "3", "4", "5"]
    rects = [line.label.sceneBoundingRect() for line in lines]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), rects
    plot_area = w.timeline.plot.getViewBox().sceneBoundingRect()
    assert all(plot_area.contains(r) for r in rects)  # each row still inside the plot
    assert rects[4].top() == rects[0].top()  # one with room stays in the top row
    captions = [t for t in w.timeline._texts.values() if t.isVisible()]
    assert captions and all(line.zValue() < t.zValue() for line in lines for t in captions)
    assert all(line.zValue() > w.timeline.band(uid).zValue() for line in lines for uid in w.timeline._bands)
    from realtime_ser.gui.timeline_view import caption_rows

    assert caption_rows([0, 8, 14, 100], [15, 15, 15, 15], 3) == [0, 1, 2, 0]
    assert caption_rows([0, 8, 14], [15, 15, 15], 2) == [0, 1, 0]  # rows run out: the one clear soonest


def test_the_marker_list_names_a_plain_recording_rightly_and_shows_a_missing_note_in_grey(qtbot):
    """Replaying an audio file, the heading said "in this session"; a marker without a note had an empty cell."""
    from PySide6.QtGui import QPalette

    from realtime_ser.gui.marker_list import MarkerList

    lst = MarkerList()
    qtbot.addWidget(lst)
    lst.show()
    lst.set_markers([MarkerEvent(1, 1.0, ""), MarkerEvent(2, 2.5, "laughs")], can_go_to=True)
    assert lst.heading.text() == "2 markers in this recording"
    assert [lst.table.item(r, 2).text() for r in range(2)] == ["(no note)", "laughs"]
    grey = lst.palette().color(QPalette.ColorRole.PlaceholderText)
    assert lst.table.item(0, 2).foreground().color() == grey
    assert lst.table.item(1, 2).foreground().color() != grey  # a note in the normal text colour
    lst.set_markers([MarkerEvent(1, 1.0, "")], can_go_to=False)
    assert lst.heading.text() == "1 marker in this recording"


def test_recording_a_replayed_session_keeps_its_markers(make_window, qtbot):
    """A replayed session recorded again (to keep the current model's results) lost its markers: they
    were shown and never written, where `listen --replay SESSION --record` writes them as it reaches them."""
    w, folder = _record_a_replay(make_window, qtbot)
    assert w.open_recording(folder)
    wait_replay_done(qtbot, w)
    for note, at in (("first", 0.5), ("gone", 1.0), ("third", 1.5)):
        w.add_marker(note, at=at)
    w.delete_marker(2)

    assert w.open_recording(folder)
    w.record_action.trigger()
    again = w.engine.recorder.folder
    w.edit_marker_note(3, "third, edited")  # before the replay reaches it: written as it is then
    wait_replay_done(qtbot, w)
    assert w.engine.recorder is None  # the recording ended with the replay
    session = Session.open(again)
    origin = session.manifest["stream_time_origin"]
    assert 0.0 <= origin < 0.5
    assert [(m.marker_id, m.note) for m in session.markers] == [(1, "first"), (3, "third, edited")]
    assert [round(m.time + origin, 3) for m in session.markers] == [0.5, 1.5]  # on the new recording's clock
    # While recording, marks and their edits go into the recording; the replayed session stays as it was.
    assert [(m.marker_id, m.note) for m in Session.open(folder).markers] == [(1, "first"), (3, "third")]
