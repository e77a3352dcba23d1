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


def test_a_damaged_store_starts_afresh_and_an_empty_list_forgets(tmp_path):
    store = tmp_path / "marks"
    a = tmp_path / "a.flac"
    shutil.copy(DEMO_PATH, a)
    save_marks(store, a, [MarkerEvent(1, 1.0)], 1)
    (kept,) = store.iterdir()
    for damage in ("{not json", "[]", '{"format": 1}', '{"format": 1, "path": 3}'):
        kept.write_text(damage)
        assert load_marks(store, a).markers == []
    save_marks(store, a, [], 1)
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
