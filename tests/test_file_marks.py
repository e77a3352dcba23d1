"""The store of marks set on plain audio files (realtime_ser.session.file_marks), on real files."""

from __future__ import annotations

import os
import shutil

from conftest import cli_env, run_cli
from realtime_ser.pipeline.events import MarkerEvent
from realtime_ser.resources import DEMO_PATH
from realtime_ser.session.file_marks import load_marks, save_marks


def test_marks_round_trip_and_are_keyed_by_the_file(tmp_path):
    store = tmp_path / "marks"
    a, b = tmp_path / "a.flac", tmp_path / "b.flac"
    shutil.copy(DEMO_PATH, a)
    shutil.copy(DEMO_PATH, b)
    marks = [MarkerEvent(1, 2.5, "sighs"), MarkerEvent(4, 10.0, "„quote“ ✓")]
    save_marks(store, a, marks, last_marker_id=5)
    got = load_marks(store, a)
    assert got.markers == marks and got.last_marker_id == 5 and not got.stale
    assert load_marks(store, b).markers == []  # the same audio elsewhere is another recording
    assert load_marks(store, tmp_path / "missing.flac").markers == []


def test_a_damaged_store_starts_afresh_and_deleted_numbers_are_not_given_again(tmp_path):
    """Every mark of a file deleted: the file was forgotten, so its next mark was number 1 again
    (the README promises numbers are not given again after a deletion)."""
    store = tmp_path / "marks"
    a = tmp_path / "a.flac"
    shutil.copy(DEMO_PATH, a)
    save_marks(store, a, [MarkerEvent(1, 1.0)], 1)
    (kept,) = store.iterdir()
    for damage in ("{not json", "[]", '{"format": 1}', '{"format": 1, "path": 3}'):
        kept.write_text(damage)
        assert load_marks(store, a).markers == []
    save_marks(store, a, [MarkerEvent(1, 1.0), MarkerEvent(2, 2.0)], 4)
    save_marks(store, a, [], 4)  # all deleted
    got = load_marks(store, a)
    assert got.markers == [] and got.last_marker_id == 4
    save_marks(store, a, [], 0)  # none ever given: nothing to keep
    assert list(store.iterdir()) == []


def test_analyze_puts_the_apps_marks_on_a_plain_file_in_its_timeline(tmp_path):
    """Marks set in the app while replaying a file come out of ``analyze`` too, as a session's do;
    not once the file has changed."""
    data_home = tmp_path / "data-home"
    env = cli_env(XDG_DATA_HOME=str(data_home))
    audio = tmp_path / "interview.flac"
    shutil.copyfile(DEMO_PATH, audio)
    store = data_home / "realtime-ser" / "file-marks"  # where the app keeps them (default_marks_dir)
    save_marks(store, audio, [MarkerEvent(1, 2.5, "sighs"), MarkerEvent(3, 12.0, "laughs")], 3)
    proc = run_cli("analyze", str(audio), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(",") for line in proc.stdout.splitlines()[1:]]
    assert [(r[2], r[-1]) for r in rows if r[4] == "marker"] == [("2.500", "sighs"), ("12.000", "laughs")]
    assert len([r for r in rows if r[4] != "marker"]) == 6  # the demo's six utterances, as without marks
    summary = run_cli("analyze", str(audio), "--format", "summary", env=env)
    assert summary.stdout.splitlines()[1].split(",")[4] == "2"  # markers
    os.utime(audio, ns=(audio.stat().st_atime_ns, audio.stat().st_mtime_ns + 10**9))  # edited since
    proc = run_cli("analyze", str(audio), env=env)
    assert proc.returncode == 0 and not [line for line in proc.stdout.splitlines() if ",marker," in line]


def test_listen_replaying_a_file_shows_its_marks_and_keeps_a_typed_one(model_path, tmp_path):
    """``listen --replay FILE`` shows the marks the app set on the file, and a note typed meanwhile
    is kept for the file as the app keeps one (it was printed and lost); a recorded replay keeps it
    in the new session instead, and the file's marks are left as they were."""
    data_home = tmp_path / "data-home"
    env = cli_env(XDG_DATA_HOME=str(data_home))
    audio = tmp_path / "interview.flac"
    shutil.copyfile(DEMO_PATH, audio)
    store = data_home / "realtime-ser" / "file-marks"
    save_marks(store, audio, [MarkerEvent(1, 2.5, "sighs"), MarkerEvent(3, 12.0, "laughs")], 3)
    r = run_cli("listen", "--replay", str(audio), "--speed", "8", "--notes-from-stdin", "--model", model_path,
                input="typed\n", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    printed = sorted(line.split("] ")[1] for line in r.stdout.splitlines() if "] marker " in line)
    assert printed == ["marker 1: sighs", "marker 3: laughs", "marker 4: typed"]  # numbered after the last
    kept = {m.marker_id: m for m in load_marks(store, audio).markers}
    assert sorted(kept) == [1, 3, 4] and kept[4].note == "typed" and kept[1] == MarkerEvent(1, 2.5, "sighs")
    timeline = run_cli("analyze", str(audio), env=env)
    assert sorted(line.split(",")[-1] for line in timeline.stdout.splitlines() if ",marker," in line) == [
        "laughs", "sighs", "typed"]

    sessions = tmp_path / "sessions"
    r = run_cli("listen", "--replay", str(audio), "--speed", "8", "--notes-from-stdin", "--record", str(sessions),
                "--model", model_path, input="recorded\n", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    from realtime_ser.session import Session

    (folder,) = sessions.iterdir()
    in_session = {m.marker_id: m.note for m in Session.open(folder).markers}
    assert in_session == {1: "sighs", 3: "laughs", 4: "typed", 5: "recorded"}
    assert sorted(m.marker_id for m in load_marks(store, audio).markers) == [1, 3, 4]


def test_a_typed_mark_that_cannot_be_kept_is_an_error_and_the_replay_goes_on(model_path, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the data folder's place is taken: the marks store cannot be made
    audio = tmp_path / "interview.flac"
    shutil.copyfile(DEMO_PATH, audio)
    out = tmp_path / "events.jsonl"
    r = run_cli("listen", "--replay", str(audio), "--speed", "8", "--notes-from-stdin", "-o", str(out),
                "--model", model_path, input="typed\n", env=cli_env(XDG_DATA_HOME=str(blocked)), timeout=60)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert errors == [f"realtime-ser: error: marker 1 is not saved: cannot keep the marks of interview.flac in "
                      f"{blocked / 'realtime-ser' / 'file-marks'}: Not a directory"], r.stderr
    assert "Traceback" not in r.stderr and r.stdout.count("FINAL") == 6  # the replay went on to its end
    assert '"note": "typed"' in out.read_text()  # the marker is in the output it was written to
