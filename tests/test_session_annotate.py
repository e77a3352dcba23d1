"""Markers added to a finished session afterwards (while replaying it), on real recordings."""

from __future__ import annotations

import json

import pytest

from realtime_ser.errors import SessionError
from realtime_ser.pipeline.events import MarkerEvent, SpeechEvent
from realtime_ser.session import Session, SessionRecorder
from realtime_ser.session.annotate import add_marker
from session_support import speech

SR = 16000


def _session(parent, *events):
    rec = SessionRecorder(parent, SR, "mic", None, {})
    folder = rec.start()
    rec.write_audio(speech(SR)[: 3 * SR], 0.0)
    for event in events:
        rec.write_event(event)
    rec.stop()
    return folder


def test_a_marker_joins_the_recorded_events_and_the_count(tmp_path):
    folder = _session(tmp_path, SpeechEvent("start", 0.2, 1), MarkerEvent(1, 0.5, "while recording"))
    before = Session.open(folder)
    add_marker(folder, MarkerEvent(2, 2.25, "afterwards, ünïcode"))
    after = Session.open(folder)
    assert after.events[: len(before.events)] == before.events and not after.warnings
    assert after.markers == [MarkerEvent(1, 0.5, "while recording"), MarkerEvent(2, 2.25, "afterwards, ünïcode")]
    assert after.manifest["events_count"] == before.manifest["events_count"] + 1
    assert after.status == "complete"


def test_a_damaged_last_line_does_not_swallow_the_marker(tmp_path):
    folder = _session(tmp_path, SpeechEvent("start", 0.2, 1))
    with open(folder / "events.jsonl", "ab") as f:
        f.write(b'{"type":"speech","kind":"end"')  # a write cut short
    add_marker(folder, MarkerEvent(1, 1.0))
    session = Session.open(folder)
    assert session.markers == [MarkerEvent(1, 1.0)]
    assert "skipped 1 malformed event line" in session.warnings[0]


def test_sessions_being_recorded_or_interrupted_are_refused(tmp_path):
    rec = SessionRecorder(tmp_path / "live", SR, "mic", None, {})
    folder = rec.start()
    try:
        with pytest.raises(SessionError, match="being recorded"):
            add_marker(folder, MarkerEvent(1, 0.0))
    finally:
        rec.stop()
    interrupted = _session(tmp_path / "killed")
    manifest = json.loads((interrupted / "manifest.json").read_text())
    (interrupted / "manifest.json").write_text(json.dumps(dict(manifest, status="recording")))
    with pytest.raises(SessionError) as refused:  # which of the two, and what repairs it
        add_marker(interrupted, MarkerEvent(1, 0.0))
    assert str(refused.value) == (
        f"{interrupted}: the session was interrupted and is not repaired yet: markers cannot be added to it "
        "until then (the app, or listen --record into the folder that holds it, repairs it when it starts)")
    assert Session.open(folder).markers == [] and Session.open(interrupted).markers == []


def test_an_unwritable_event_log_is_a_one_line_error(tmp_path):
    folder = _session(tmp_path)
    (folder / "events.jsonl").unlink()
    (folder / "events.jsonl").mkdir()  # as good as unwritable, also for root
    with pytest.raises(SessionError) as info:
        add_marker(folder, MarkerEvent(1, 0.0))
    assert str(info.value).startswith(f"{folder / 'events.jsonl'}: cannot add the marker") and "\n" not in str(info.value)


def test_edits_and_deletions_are_later_lines_and_every_reader_sees_the_result(tmp_path):
    from realtime_ser.session.catalog import summarize

    folder = _session(tmp_path, MarkerEvent(1, 0.5, "tpyo"), MarkerEvent(2, 1.0, "by mistake"))
    add_marker(folder, MarkerEvent(1, 0.5, "typo fixed"))
    add_marker(folder, MarkerEvent(2, 1.0, "by mistake", removed=True))
    add_marker(folder, MarkerEvent(3, 0.2, "earlier moment"))
    lines = [json.loads(l) for l in (folder / "events.jsonl").read_text().splitlines()]
    assert [("removed" in d) for d in lines if d["type"] == "marker"] == [False, False, False, True, False]
    session = Session.open(folder)
    assert session.markers == [MarkerEvent(3, 0.2, "earlier moment"), MarkerEvent(1, 0.5, "typo fixed")]
    assert not session.warnings and summarize(folder).markers == 2
    # a marker deleted and then marked again under its number (a later run): the latest line wins
    add_marker(folder, MarkerEvent(2, 2.0, "again"))
    assert [m.marker_id for m in Session.open(folder).markers] == [3, 1, 2]


def test_a_malformed_removed_field_skips_only_that_line(tmp_path):
    folder = _session(tmp_path, MarkerEvent(1, 0.5, "kept"))
    with open(folder / "events.jsonl", "a") as f:
        f.write('{"type":"marker","marker_id":1,"time":0.5,"note":"kept","removed":"yes"}\n')
    session = Session.open(folder)
    assert session.markers == [MarkerEvent(1, 0.5, "kept")]
    assert "skipped 1 malformed event line" in session.warnings[0]


def test_a_session_is_named_when_recorded_and_renamed_afterwards(tmp_path):
    from realtime_ser.session.annotate import set_title
    from realtime_ser.session.catalog import summarize

    rec = SessionRecorder(tmp_path, SR, "mic", None, {}, title="  P07\tbaseline ")
    folder = rec.start()
    with pytest.raises(SessionError, match="being recorded: it cannot be renamed now$"):
        set_title(folder, "too early")
    rec.write_audio(speech(SR)[:SR], 0.0)
    rec.stop()
    assert Session.open(folder).title == "P07 baseline" == summarize(folder).title
    assert set_title(folder, "P07 follow-up " + "x" * 300) == ("P07 follow-up " + "x" * 300)[:200]
    session = Session.open(folder)
    assert len(session.title) == 200 and session.status == "complete" and not session.warnings
    assert set_title(folder, "   ") is None and Session.open(folder).title is None  # empty: no title
    untitled = _session(tmp_path / "old")  # recorded without one (as before titles existed)
    assert Session.open(untitled).title is None and summarize(untitled).title is None


def test_a_title_that_is_not_text_is_a_one_line_error(tmp_path):
    folder = _session(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(dict(manifest, title=7)))
    with pytest.raises(SessionError, match="manifest 'title' must be a string"):
        Session.open(folder)


def test_programs_annotating_one_session_at_once_lose_nothing(tmp_path):
    """Two replays of one session, each numbering its markers after the session's highest, gave
    the same number twice (the last line per number counts: one note was gone), and a rename at the
    same moment as a marker could be lost though reported as done."""
    import subprocess
    import sys

    from conftest import REPO

    folder = _session(tmp_path, SpeechEvent("start", 0.2, 1), MarkerEvent(3, 0.5, "while recording"))
    program = (
        "import sys; from realtime_ser.pipeline.events import MarkerEvent; "
        "from realtime_ser.session.annotate import add_marker, set_title\n"
        "for i in range(40):\n"
        "    if sys.argv[2] == 'title': set_title(sys.argv[1], f'title {i}')\n"
        "    else: add_marker(sys.argv[1], MarkerEvent(4, 1.0, f'{sys.argv[2]} {i}'), new=True)\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", program, str(folder), who], cwd=REPO, stderr=subprocess.PIPE)
               for who in ("alice", "bob", "title")]
    assert [(w.wait(timeout=60), w.stderr.read()) for w in writers] == [(0, b"")] * 3
    session = Session.open(folder)
    notes = sorted(m.note for m in session.markers)
    assert notes == sorted(["while recording"] + [f"{who} {i}" for who in ("alice", "bob") for i in range(40)])
    assert sorted(m.marker_id for m in session.markers) == list(range(3, 84))  # each number once
    assert session.manifest["title"] == "title 39" and session.manifest["events_count"] == len(session.events)
    assert not session.warnings


def test_a_marker_the_disk_has_no_room_for_leaves_the_log_as_it_was(tmp_path):
    """A full disk took part of the marker's line: every later reading warned of an interrupted
    recording, and the next marker was glued after the fragment (a malformed line)."""
    import shutil

    from conftest import small_tmpfs

    with small_tmpfs(tmp_path / "tiny", "256k") as tiny:
        folder = _session(tmp_path / "sessions", SpeechEvent("start", 0.2, 1))
        copy = tiny / folder.name
        shutil.copytree(folder, copy)
        log_before = (copy / "events.jsonl").read_bytes()
        filler = tiny / "filler"
        with open(filler, "wb", buffering=0) as f:  # the disk full to the last byte
            try:
                while True:
                    f.write(b"x" * 512)
            except OSError:
                pass
        with pytest.raises(SessionError, match=r"cannot add the marker \(No space left on device\)$"):
            add_marker(copy, MarkerEvent(1, 1.0, "x" * 5000))
        assert (copy / "events.jsonl").read_bytes() == log_before
        filler.unlink()
        add_marker(copy, MarkerEvent(1, 1.0, "room again"))
        session = Session.open(copy)
        assert [m.note for m in session.markers] == ["room again"] and not session.warnings
