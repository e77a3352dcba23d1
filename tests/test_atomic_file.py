"""Replacing a user's file: the old version survives any failure, and no temporary is left."""

import pytest

from realtime_ser.atomic_file import write_text_atomic


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "timeline.csv"
    target.write_text("old\n")
    assert write_text_atomic(target, "new,ü\r\n") == target
    assert target.read_bytes() == "new,ü\r\n".encode()  # UTF-8, line endings kept as given
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "settings.json"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):  # fails halfway through writing the temporary
        write_text_atomic(target, "partial" * 1000 + "\ud800")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_an_unwritable_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "no-such-folder" / "out.csv", "x")
