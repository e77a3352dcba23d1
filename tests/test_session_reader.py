"""Opening malformed session folders: one-line SessionErrors, or warnings where the rest is usable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from realtime_ser.errors import SessionError
from realtime_ser.pipeline.events import SpeechEvent, StatusEvent
from realtime_ser.session import Session, SessionRecorder
from session_support import speech

SR = 16000


@pytest.fixture
def session_folder(tmp_path) -> Path:
    rec = SessionRecorder(tmp_path, SR, "mic", None, {"a": 1})
    folder = rec.start()
    rec.write_audio(speech(SR)[: 2 * SR], 0.0)
    rec.write_event(SpeechEvent("start", 0.2, 1))
    rec.write_event(SpeechEvent("end", 1.4, 1))
    rec.write_event(StatusEvent("info", "ok", 1.5))
    rec.stop()
    return folder


def _edit_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key, value in changes.items():
        if value is ...:
            manifest.pop(key)
        else:
            manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _error(folder: Path) -> str:
    with pytest.raises(SessionError) as info:
        Session.open(folder)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_not_a_session_folder(tmp_path):
    assert _error(tmp_path / "missing") == f"{tmp_path / 'missing'}: no such session folder"
    (tmp_path / "file").write_text("x")
    assert "not a directory" in _error(tmp_path / "file")
    assert _error(tmp_path) == f"{tmp_path}: not a session folder (no manifest.json)"


def test_a_folder_is_named_like_a_session_exactly_as_the_recorder_names_them(session_folder, tmp_path):
    """The recorder's names (a second session in the same second gets "-2"), not a user's own folders."""
    from realtime_ser.session.reader import named_like_session

    second = tmp_path / f"{session_folder.name}-2"
    second.mkdir()
    assert named_like_session(session_folder) and named_like_session(second)
    for name in ("my notes", "2026-01-01T10-00-00_interview", "2026-01-01T10-00-00_session copy", "2026-01-01"):
        (tmp_path / name).mkdir()
        assert not named_like_session(tmp_path / name), name
    (tmp_path / "2026-01-01T10-00-00_session").write_text("a file")
    assert not named_like_session(tmp_path / "2026-01-01T10-00-00_session")


@pytest.mark.parametrize(
    "manifest_bytes, expected",
    [
        (b"", "manifest is not valid JSON (Expecting value at line 1, column 1)"),
        (b"{\"format\": \"realtime-", "manifest is not valid JSON (Unterminated string starting at line 1, column 12)"),
        (b"\xff\xfe{}", "manifest is not UTF-8 text"),
        (b"[]", "manifest must be a JSON object, not list"),
        (b"{}", "not a realtime-ser session manifest (format None)"),
        (b"[" * 100000 + b"]" * 100000, "manifest"),
    ],
)
def test_unreadable_manifests(session_folder, manifest_bytes, expected):
    (session_folder / "manifest.json").write_bytes(manifest_bytes)
    message = _error(session_folder)
    assert message.startswith(str(session_folder)) and expected in message


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"version": 2}, "session format version 2 is newer than this program reads (1); update realtime-ser"),
        ({"version": "1"}, "manifest 'version' must be an integer, not str"),
        ({"version": True}, "manifest 'version' must be an integer, not True"),
        ({"status": "paused"}, "unknown session status 'paused'"),
        ({"sample_rate": ...}, "manifest has no 'sample_rate'"),
        ({"sample_rate": 0}, "implausible sample rate 0"),
        ({"audio_file": "../../etc/passwd"}, "'audio_file' must be a plain file name"),
        ({"events_file": ""}, "'events_file' must be a plain file name"),
        ({"settings": [1, 2]}, "manifest 'settings' must be an object"),
        ({"started": 5}, "manifest 'started' must be a timestamp string"),
    ],
)
def test_invalid_manifest_fields(session_folder, changes, expected):
    _edit_manifest(session_folder, **changes)
    assert expected in _error(session_folder)


def test_missing_or_corrupt_audio(session_folder):
    (session_folder / "audio.wav").write_bytes(b"RIFF garbage that is not audio" * 10)
    # libsndfile's reason, without its "Error opening b'/path...'" (the path twice, once as bytes)
    assert _error(session_folder) == f"{session_folder / 'audio.wav'}: session audio cannot be read (Format not recognised)"
    (session_folder / "audio.wav").unlink()
    assert _error(session_folder) == f"{session_folder}: session audio audio.wav is missing"


def test_bad_event_lines_are_skipped_and_reported(session_folder):
    path = session_folder / "events.jsonl"
    good = path.read_bytes()
    path.write_bytes(
        good
        + b"not json\n"
        + b"[1,2,3]\n"
        + b'{"type":"speech","kind":"start","time":"soon","utterance_id":2}\n'  # wrong type
        + b'{"type":"alien"}\n'
        + b'{"type":"speech","kind":"start","time":2.0}\n'  # missing field
        + b'{"type":"speech","kind":"start","time":2.0,"utterance_id":2,"extra":1}\n'  # unknown field
        + b"\x00\x00\x00\x00\n"  # zeros from a power cut: not counted as an event line
        + b"\n"
        + b'{"type":"speech","kind":"start","time":' + b"9" * 400 + b',"utterance_id":2}\n'  # OverflowError
        + b'{"type":"marker","marker_id":1,"time":1e308,"note":""}\n'  # a time no recording reaches
        + b'{"type":"speech","kind":"end","time":2.5,"utterance_id":2}\n'
    )
    session = Session.open(session_folder)
    assert [e.type for e in session.events] == ["speech", "speech", "status", "speech"]
    assert session.warnings == [f"{path}: skipped 8 malformed event line(s) (line 4, 5, 6, 7, 8, ...)"]


def test_missing_event_log_is_an_empty_timeline(session_folder):
    (session_folder / "events.jsonl").unlink()
    session = Session.open(session_folder)
    assert session.events == [] and "no event log" in session.warnings[0]
    assert abs(session.duration - 2.0) < 1e-9


def test_markers_are_read_in_time_order_and_malformed_ones_skipped(tmp_path):
    from realtime_ser.pipeline.events import MarkerEvent

    rec = SessionRecorder(tmp_path, SR, "mic", None, {})
    folder = rec.start()
    rec.write_audio(speech(SR)[: 2 * SR], 10.0)  # recording began 10 s into the stream
    rec.write_event(MarkerEvent(2, 11.5, "later, written first"))
    rec.write_event(MarkerEvent(1, 10.25))
    rec.stop()
    path = folder / "events.jsonl"
    path.write_bytes(path.read_bytes()
                     + b'{"type":"marker","marker_id":3,"time":1.0,"note":7}\n'  # note not text
                     + b'{"type":"marker","marker_id":true,"time":1.0,"note":""}\n')  # id not a number
    session = Session.open(folder)
    # on the clock of the session audio, like every other event
    assert session.markers == [MarkerEvent(1, 0.25), MarkerEvent(2, 1.5, "later, written first")]
    assert session.warnings == [f"{path}: skipped 2 malformed event line(s) (line 3, 4)"]


PROBS = {"angry": 0.1, "happy": 0.6, "neutral": 0.3}


def _recorded(parent, seconds: int, *events) -> Path:
    """A session of ``seconds`` of speech with ``events`` written among it, as a recorder leaves it."""
    rec = SessionRecorder(parent, 16000, "mic", None, None)
    folder = rec.start()
    rec.write_audio(speech(16000)[: seconds * 16000], 0.0)
    for event in events:
        rec.write_event(event)
    rec.stop()
    return folder


def test_an_utterance_left_open_in_a_finished_log_reads_as_ended_where_the_audio_ends(tmp_path):
    """A recording stopped by a full disk with not one byte left could not write the lines ending the
    utterance it cut off: the log ended open, so the utterance had no end and no final result, and
    summaries left it out.  Reading the session ends it where the audio does, with its last estimate."""
    from realtime_ser.pipeline.events import EmotionEvent

    folder = _recorded(tmp_path, 2, SpeechEvent("start", 0.5, 1),
                       EmotionEvent(1, 0.5, 1.5, "happy", "happy", 0.6, PROBS, final=False))
    events_path = folder / "events.jsonl"
    lines = events_path.read_bytes().splitlines(keepends=True)
    assert [json.loads(line)["type"] for line in lines] == ["speech", "emotion", "speech", "emotion"]
    events_path.write_bytes(b"".join(lines[:2]))  # as a disk with no room left for the closing lines leaves it
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(dict(manifest, status="stopped")))

    session = Session.open(folder)
    assert [(e.type, getattr(e, "kind", None), e.time if e.type == "speech" else e.end) for e in session.events] == [
        ("speech", "start", 0.5), ("emotion", None, 1.5), ("speech", "end", 2.0), ("emotion", None, 2.0)]
    (final,) = session.final_emotions
    assert (final.label, final.start, final.end, final.confidence) == ("happy", 0.5, 2.0, 0.6)
    assert events_path.read_bytes() == b"".join(lines[:2])  # reading changes nothing on disk


def test_an_utterance_whose_end_is_logged_but_not_its_result_gets_its_last_estimate(tmp_path):
    """The end and the final result are two lines; a recorder killed between them, or a full disk
    that took the second, left the end alone, which counted as closing the utterance: its result
    was lost for good (sessions listed one utterance fewer than analyze found).  Reading gives it
    its last estimate, and repair writes that into the log."""
    from realtime_ser.pipeline.events import EmotionEvent
    from realtime_ser.session.utterance_edges import end_cut_off_utterances

    folder = _recorded(tmp_path, 3, SpeechEvent("start", 0.5, 1),
                       EmotionEvent(1, 0.5, 1.5, "happy", "happy", 0.6, PROBS, final=False),
                       SpeechEvent("end", 1.75, 1), EmotionEvent(1, 0.5, 1.75, "angry", "angry", 0.5, PROBS, final=True))
    events_path = folder / "events.jsonl"
    lines = events_path.read_bytes().splitlines(keepends=True)
    events_path.write_bytes(b"".join(lines[:3]))  # the final result's line never written

    session = Session.open(folder)
    (final,) = session.final_emotions
    assert (final.label, final.start, final.end, final.confidence) == ("happy", 0.5, 1.75, 0.6)
    assert [getattr(e, "kind", "result") for e in session.events] == ["start", "result", "end", "result"]
    assert events_path.read_bytes() == b"".join(lines[:3])  # reading changes nothing on disk
    assert end_cut_off_utterances(events_path, 3.0) == [1]  # what repair does
    written = json.loads(events_path.read_bytes().splitlines()[-1])
    assert (written["final"], written["label"], written["end"]) == (True, "happy", 1.75)
    assert end_cut_off_utterances(events_path, 3.0) == []  # once is enough


def test_a_session_opens_from_a_bytes_path(session_folder):
    """predict_clip and EmotionModel.load take a path as bytes (os.fsencode); Session.open raised TypeError."""
    assert Session.open(os.fsencode(session_folder)).folder == Session.open(session_folder).folder
