"""Replacing a user's file: the old version survives any failure, and no temporary is left."""

import os
import stat
import threading

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


def test_writers_of_one_file_at_the_same_time_each_replace_it_whole(tmp_path):
    """Two programs (or threads) writing one file at once, as the app and ``sessions --title`` may
    write a session's manifest: with one fixed temporary name, one published the other's text and
    the other's rename failed (No such file or directory)."""
    target = tmp_path / "manifest.json"
    texts = [f"writer {i}\n" * 500 for i in range(4)]
    errors = []

    def write(text):
        for _ in range(200):
            try:
                write_text_atomic(target, text)
            except OSError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and target.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_an_unwritable_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "no-such-folder" / "out.csv", "x")


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "exports").mkdir()
    real = tmp_path / "exports" / "target.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to("exports/target.csv")  # relative, as people make them
    assert write_text_atomic(link, "new\n") == real
    assert link.is_symlink() and os.readlink(link) == "exports/target.csv"
    assert real.read_text() == "new\n"
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["target.csv"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "later.csv")
    write_text_atomic(link, "x\n")
    assert link.is_symlink() and (tmp_path / "later.csv").read_text() == "x\n"


def _written_into_a_pipe(fifo, path, text) -> list[str]:
    """What a reader of the named pipe ``fifo`` receives while ``text`` is written to ``path``."""
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    write_text_atomic(path, text)
    reader.join(10)
    return received


def test_a_named_pipe_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    assert _written_into_a_pipe(fifo, fifo, "through the pipe\n") == ["through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a pipe, not a regular file
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_a_link_to_a_special_file_writes_through_it(tmp_path):
    fifo = tmp_path / "pipe"
    link = tmp_path / "out"
    link.symlink_to(fifo)  # (dangling until the pipe is made)
    received = _written_into_a_pipe(fifo, link, "via the link\n")
    assert received == ["via the link\n"] and link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)


def test_a_directory_is_not_replaced(tmp_path):
    folder = tmp_path / "out.csv"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        write_text_atomic(folder, "x")
    assert (folder / "inside").is_dir() and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_check_writable_gives_the_error_writing_would(tmp_path):
    from realtime_ser.atomic_file import check_writable

    check_writable(tmp_path / "new.csv")  # fine, and leaves nothing behind
    (tmp_path / "old.csv").write_text("kept\n")
    check_writable(tmp_path / "old.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"] and (tmp_path / "old.csv").read_text() == "kept\n"
    with pytest.raises(FileNotFoundError):
        check_writable(tmp_path / "no-such-folder" / "out.csv")
    with pytest.raises(IsADirectoryError):
        check_writable(tmp_path)
    with pytest.raises(NotADirectoryError):
        check_writable(tmp_path / "old.csv" / "out.csv")
    os.mkfifo(tmp_path / "pipe")
    check_writable(tmp_path / "pipe")  # a special file is only checked, never opened (that would block)
