"""The store of marks set on plain audio files (realtime_ser.session.file_marks), on real files."""

from __future__ import annotations

import shutil

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
