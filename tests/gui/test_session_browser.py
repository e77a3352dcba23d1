"""File -> Recorded sessions: real session folders listed newest first, a broken one counted, a pick replayed."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from realtime_ser.audio.io import load_audio
from realtime_ser.pipeline.events import EmotionEvent, MarkerEvent
from realtime_ser.pipeline.summary import describe_shares
from realtime_ser.pipeline.worker import analyze_file
from realtime_ser.session import SessionRecorder

from realtime_ser.gui.session_browser import COLUMNS as COLUMNS_UNDER_TEST

from .conftest import CLIPS, DEMO, wait_replay_done


def _record(parent, path, model, markers=()):
    """A session as a live recording of ``path`` would leave it: its audio, results and markers."""
    audio = load_audio(path, 16000)
    rec = SessionRecorder(parent, 16000, "test mic")
    folder = rec.start()
    rec.write_audio(audio, 0.0)
    events = analyze_file(path, model)
    for event in list(events) + list(markers):
        rec.write_event(event)
    rec.stop()
    return folder, [e for e in events if isinstance(e, EmotionEvent) and e.final]


def test_browser_lists_sessions_and_replays_the_one_picked(make_window, qtbot, model, tmp_path):
    parent = tmp_path / "sessions"
    older, older_finals = _record(parent, DEMO, model, [MarkerEvent(1, 2.0, "x")])
    newer, _ = _record(parent, CLIPS / "ANG.wav", model)
    if newer.name < older.name:  # both in the same second: the recorder numbers the second one
        older, newer = newer, older
    broken = parent / "0000-broken_session"
    broken.mkdir()
    (broken / "manifest.json").write_text("[]")
    w = make_window(sessions_dir=parent)
    w.open_session_action.trigger()
    browser = w._session_browser
    qtbot.waitUntil(browser.isVisible, timeout=3000)
    assert browser.table.rowCount() == 2 and "2 sessions in" in browser.heading.text()
    rows = {browser.table.item(r, 7).text(): r for r in range(2)}
    assert rows[newer.name] == 0  # newest first
    r = rows[older.name]
    cells = [browser.table.item(r, c).text() for c in range(8)]
    assert cells[1:6] == ["(untitled)", "0:24", "complete", str(len(older_finals)), "1"]
    assert cells[6] == describe_shares(older_finals)
    assert browser.problems.isVisible() and "1 session folder could not be read" in browser.problems.text()
    browser.table.cellDoubleClicked.emit(r, 0)
    assert not browser.isVisible()
    assert w.mode == "replay" and w.engine.info.kind == "session" and w.engine.info.path == older
    assert [m.note for m in w.timeline_model.markers] == ["x"]
    wait_replay_done(qtbot, w)


def test_browser_of_an_empty_session_folder_says_how_to_record(make_window, qtbot, tmp_path):
    w = make_window(sessions_dir=tmp_path / "none yet <b>&amp;")  # shown as named, not read as markup
    w.show_sessions()
    browser = w._session_browser
    assert browser.table.rowCount() == 0 and "No sessions recorded yet" in browser.heading.text()
    shown = QTextDocument()
    shown.setHtml(browser.heading.text())
    assert f"in {tmp_path / 'none yet <b>&amp;'}. Record one" in shown.toPlainText()
    assert not browser.replay_button.isEnabled() and not browser.problems.isVisible()
    browser.reject()


def test_a_session_is_renamed_from_the_browser_and_its_title_shows_when_replayed(make_window, qtbot, model,
                                                                                  tmp_path):
    from realtime_ser.session import Session

    parent = tmp_path / "sessions"
    first, _ = _record(parent, CLIPS / "SAD.wav", model)
    second, _ = _record(parent, CLIPS / "ANG.wav", model)
    w = make_window(sessions_dir=parent)
    w.show_sessions()
    browser = w._session_browser
    row = [browser.summaries[r].folder for r in range(2)].index(str(first))
    browser.table.selectRow(row)
    browser.rename_button.click()
    assert browser.title_dialog.textValue() == ""
    browser.title_dialog.setTextValue("  P07   baseline\n")
    browser.title_dialog.accept()
    assert Session.open(first).title == "P07 baseline" and Session.open(second).title is None
    chosen = browser.table.currentRow()
    assert browser.table.item(chosen, 1).text() == "P07 baseline" and browser.summaries[chosen].folder == str(first)
    browser.rename_button.click()  # renaming again starts from the title it has
    assert browser.title_dialog.textValue() == "P07 baseline"
    browser.title_dialog.reject()
    browser.table.cellDoubleClicked.emit(chosen, 0)
    assert w.engine.info.name == f"P07 baseline ({first.name})"
    assert w.windowTitle().startswith("P07 baseline")
    # renamed while it is replayed: the bar and the window title follow at once (they kept the old name)
    w.show_sessions()
    browser = w._session_browser
    browser.table.selectRow([browser.summaries[r].folder for r in range(2)].index(str(first)))
    browser.rename_button.click()
    browser.title_dialog.setTextValue("P07 follow-up")
    browser.title_dialog.accept()
    assert w.engine.info.name == f"P07 follow-up ({first.name})"
    assert w.windowTitle().startswith("P07 follow-up") and w.replay_bar.name == f"P07 follow-up ({first.name})"
    assert "P07 follow-up" in w.replay_bar.title.text()
    browser.rename_button.click()  # the title removed: the folder's name
    browser.title_dialog.setTextValue("")
    browser.title_dialog.accept()
    assert w.engine.info.name == first.name and w.windowTitle().startswith(first.name)
    browser.reject()
    wait_replay_done(qtbot, w)


def test_sessions_of_the_same_minute_show_their_seconds_newest_first(make_window, qtbot, model, tmp_path):
    import json

    parent = tmp_path / "sessions"
    folders = sorted(_record(parent, CLIPS / name, model)[0] for name in ("SAD.wav", "ANG.wav", "HAP.wav"))
    # When they started, as their manifests say (folders copied from elsewhere need not be named after
    # it): the one whose folder name sorts first started last; one start is unreadable.
    for folder, started in zip(folders, ["2026-11-22T10:15:48.500+01:00", "2026-11-22T10:15:03.120+01:00",
                                         "sometime"]):
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), started=started)))
    w = make_window(sessions_dir=parent)
    w.show_sessions()
    browser = w._session_browser
    shown = [(browser.table.item(r, 0).text(), browser.table.item(r, 7).text()) for r in range(3)]
    assert shown == [("2026-11-22 10:15:48", folders[0].name), ("2026-11-22 10:15:03", folders[1].name),
                     ("?", folders[2].name)]
    browser.rename_button.click()
    assert "2026-11-22 10:15:48" in browser.title_dialog.labelText()
    browser.title_dialog.reject()
    browser.reject()


def test_the_session_being_recorded_is_renamed_through_its_recorder(make_window, qtbot, pulse, tmp_path):
    """Its manifest belongs to the recorder until it stops; a second writer would lose the name."""
    from realtime_ser.session import Session

    parent = tmp_path / "sessions"
    w = make_window(sessions_dir=parent)
    assert w.start_microphone("pulse")
    w.record_action.setChecked(True)
    folder = w.engine.recorder.folder
    w.show_sessions()
    browser = w._session_browser
    assert [s.status for s in browser.summaries] == ["recording"]
    browser.table.selectRow(0)
    browser.rename_button.click()
    browser.title_dialog.setTextValue("P07 live")
    browser.title_dialog.accept()
    assert not browser.problems.isVisible()
    assert w.engine.recorder.title == "P07 live" and Session.open(folder).title == "P07 live"
    assert browser.table.item(0, 1).text() == "P07 live"
    browser.reject()
    w.record_action.setChecked(False)
    assert Session.open(folder).title == "P07 live" and Session.open(folder).status == "complete"


def test_the_columns_keep_to_their_contents_and_empty_cells_say_why(make_window, qtbot, model, tmp_path):
    """A long title cut the Folder column short, with no titles the Title column shrank to ~35 px, an
    untitled session had a blank cell and one without speech a "-" under "Speech sounded"."""
    import numpy as np
    import soundfile as sf
    from PySide6.QtGui import QPalette

    from realtime_ser.session.annotate import set_title

    title_min_px = 160

    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(16000 * 3, np.float32), 16000)
    parent = tmp_path / "sessions"
    quiet, _ = _record(parent, silence, model)
    spoken, finals = _record(parent, DEMO, model)
    w = make_window(sessions_dir=parent)
    w.show_sessions()
    browser = w._session_browser
    qtbot.waitUntil(browser.isVisible, timeout=3000)
    table, header = browser.table, browser.table.horizontalHeader()

    def row_of(folder):
        return [s.folder for s in browser.summaries].index(str(folder))

    grey = browser.palette().color(QPalette.ColorRole.PlaceholderText)
    for folder in (quiet, spoken):
        title = table.item(row_of(folder), 1)
        assert title.text() == "(untitled)" and title.foreground().color() == grey
    speech = table.item(row_of(quiet), 6)
    assert speech.text() == "no speech" and speech.foreground().color() == grey
    assert finals and table.item(row_of(spoken), 6).text() == describe_shares(finals)
    assert table.item(row_of(spoken), 6).foreground().color() != grey
    assert header.sectionSize(1) >= title_min_px  # not shrunk to its heading
    widths = [header.sectionSize(c) for c in range(len(COLUMNS_UNDER_TEST))]
    assert sum(widths) <= table.viewport().width(), widths  # it opens wide enough for every column

    set_title(spoken, "P07 baseline interview with a rather long title, second visit after the holidays")
    browser.reload()
    qtbot.wait(20)
    for c in range(len(COLUMNS_UNDER_TEST)):
        if c != 1:  # every other column whole, the Folder included
            assert header.sectionSize(c) >= table.sizeHintForColumn(c), (COLUMNS_UNDER_TEST[c], header.sectionSize(c))
    assert header.sectionSize(1) >= title_min_px
    room = table.viewport().width() - sum(header.sectionSize(c) for c in range(len(COLUMNS_UNDER_TEST)) if c != 1)
    assert header.sectionSize(1) == max(title_min_px, room)  # the title takes what the others leave
    browser.resize(1400, 420)  # wider: more of the title
    qtbot.wait(20)
    room = table.viewport().width() - sum(header.sectionSize(c) for c in range(len(COLUMNS_UNDER_TEST)) if c != 1)
    assert header.sectionSize(1) == room > title_min_px
    assert "second visit after the holidays" in table.item(row_of(spoken), 1).toolTip()  # cut here, whole there
    browser.reject()


def test_folders_named_like_sessions_without_a_manifest_are_counted_not_hidden(qtbot, model, tmp_path):
    """They may hold a recording: counted below the table with the unreadable ones, each named in the tooltip."""
    from realtime_ser.gui.session_browser import SessionBrowser

    parent = tmp_path / "sessions"
    good, _ = _record(parent, CLIPS / "SAD.wav", model)
    lost = parent / "2026-01-01T10-00-00_session"
    lost.mkdir()
    (lost / "audio.wav").write_bytes((good / "audio.wav").read_bytes())
    broken = parent / "2026-01-01T11-00-00_session"
    broken.mkdir()
    (broken / "manifest.json").write_text("[]")
    (parent / "my notes").mkdir()  # not named like a session: not the browser's business
    browser = SessionBrowser(parent, browse_elsewhere=lambda: None)
    qtbot.addWidget(browser)
    browser.show()
    assert browser.table.rowCount() == 1 and browser.summaries[0].folder == str(good)
    assert browser.problems.isVisible()
    assert browser.problems.text().startswith(f"2 session folders could not be read: {lost}: named like a session "
                                              "but has no manifest.json, so it is not listed (it holds audio.wav)")
    assert browser.problems.toolTip().splitlines() == [
        f"{lost}: named like a session but has no manifest.json, so it is not listed (it holds audio.wav)",
        f"{broken / 'manifest.json'}: manifest must be a JSON object, not list",
    ]
    browser.reject()


def test_title_boxes_take_no_more_than_a_title_holds(make_window, qtbot, model, tmp_path):
    """A 229-character title typed in Rename… or Name this recording… was cut to 200 when stored, without a
    word (the command line refuses it: the user would not know what was kept)."""
    from PySide6.QtWidgets import QLineEdit

    from realtime_ser.gui.questions import ask_recording_title
    from realtime_ser.session import Session
    from realtime_ser.session.format import MAX_TITLE_CHARS

    parent = tmp_path / "sessions"
    folder, _ = _record(parent, CLIPS / "SAD.wav", model)
    w = make_window(sessions_dir=parent)
    w.show_sessions()
    browser = w._session_browser
    browser.table.selectRow(0)
    browser.rename_button.click()
    typed = "P07 baseline, second visit; " * 8 + "END"
    qtbot.keyClicks(browser.title_dialog.findChild(QLineEdit), typed)
    assert browser.title_dialog.textValue() == typed[:MAX_TITLE_CHARS]  # the box stops where a title must
    browser.title_dialog.accept()
    assert Session.open(folder).title == typed[:MAX_TITLE_CHARS].strip()
    given = []
    dialog = ask_recording_title(w, None, given.append)
    qtbot.keyClicks(dialog.findChild(QLineEdit), typed)
    assert dialog.textValue() == typed[:MAX_TITLE_CHARS]
    dialog.reject()
