"""Where the command line's results go: a failing or closed stdout, and --output that is a link,
a pipe, missing, or named .json. Run as a user would (``python -m realtime_ser``)."""

import csv
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import REPO, run_cli, small_tmpfs
from tests.test_cli import CLIPS, _record_session, assert_one_line_errors

FULL = Path("/dev/full")  # only ever a subprocess's stdout here: written to, never replaced
NO_SPACE = "realtime-ser: error: cannot write output: No space left on device"


@pytest.fixture(scope="module")
def clips(data):
    return [str(data / "ravdess" / c) for c in CLIPS]


def cli(*args: str, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime_ser", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, cwd=REPO, timeout=120)


def test_a_full_stdout_is_one_line_and_a_recording_is_kept(clips, model_path, tmp_path):
    assert stat.S_ISCHR(FULL.stat().st_mode)  # Linux (CI included) always has it: a disk that is full
    sessions = tmp_path / "sessions"
    _record_session(sessions, [])
    with open(FULL, "w") as full:
        for args in (["analyze", clips[0], "--model", model_path], ["sessions", str(sessions)]):
            r = cli(*args, stdout=full)
            assert (r.returncode, r.stderr) == (1, NO_SPACE + "\n"), args
        r = cli("listen", "--replay", clips[0], "--speed", "8", "--record", str(sessions), "--model", model_path,
                stdout=full)
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == NO_SPACE, r.stderr
    assert r.stderr.count("error") == 1 and "Traceback" not in r.stderr and "listener failed" not in r.stderr
    from realtime_ser.session import Session

    recorded = Session.open(sorted(sessions.iterdir())[-1])  # listening stopped, the session was saved
    assert recorded.status == "complete" and recorded.duration > 0 and f"session saved: {recorded.folder}" in r.stderr


def test_help_and_version_on_a_full_stdout_are_one_line():
    """argparse prints these itself and ignores a failing stdout: it said nothing and exited 0."""
    with open(FULL, "w") as full:
        for args in (["--help"], ["analyze", "--help"], ["--version"]):
            r = cli(*args, stdout=full)
            assert (r.returncode, r.stderr) == (1, NO_SPACE + "\n"), args
    r = cli("analyze", "--help", stdout=subprocess.PIPE)  # a stdout that works: argparse's usual help
    assert (r.returncode, r.stderr) == (0, "") and r.stdout.startswith("usage: realtime-ser analyze [-h]")


def _closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run with a stdout nobody reads any more, as ``| head -1`` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        return cli(*args, stdout=write)
    finally:
        os.close(write)


def test_a_closed_pipe_ends_quietly(clips, model_path, tmp_path):
    r = _closed_pipe(["analyze", clips[0], "--model", model_path])
    assert (r.returncode, r.stderr) == (1, "")
    r = _closed_pipe(["listen", "--replay", clips[0], "--speed", "8", "--record", str(tmp_path),
                      "--model", model_path])
    assert r.returncode == 1 and "error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "session saved" in r.stderr


def test_output_through_a_symlink_and_into_a_pipe(clips, model_path, tmp_path):
    (tmp_path / "exports").mkdir()
    target = tmp_path / "exports" / "timeline.csv"
    target.write_text("earlier\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    r = run_cli("analyze", clips[0], "-o", str(link), "--model", model_path)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and target.read_text().startswith("file,utterance_id,")  # written through

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    r = run_cli("analyze", clips[0], "-o", str(fifo), "--model", model_path)
    reader.join(30)
    assert r.returncode == 0, r.stderr
    assert received == [target.read_text()] and stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a pipe

    to_stdout = tmp_path / "stdout.csv"  # a link in our own folder: a regression replaces only the link
    to_stdout.symlink_to("/dev/stdout")
    r = run_cli("analyze", clips[0], "-o", str(to_stdout), "--model", model_path)
    assert r.returncode == 0 and r.stdout == target.read_text() and to_stdout.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "link.csv", "pipe.csv", "stdout.csv"]


def test_output_to_stdout_redirected_to_a_log_adds_to_the_log(clips, model_path, tmp_path):
    """``-o /dev/stdout`` inside a script whose output goes to a log: the results go after what the
    script wrote before, and what it writes after stays; the log is neither replaced nor truncated."""
    log = tmp_path / "log.txt"
    cli = f"{sys.executable} -m realtime_ser"
    script = (f"echo before; {cli} analyze {clips[0]} -o /dev/stdout -f summary --model {model_path}; "
              f"{cli} listen --replay {clips[0]} --speed 20 -o /dev/stdout --model {model_path}; "
              "echo after")
    with open(log, "w") as f:
        r = subprocess.run(["sh", "-c", script], stdout=f, stderr=subprocess.PIPE, text=True, cwd=REPO,
                           timeout=120)
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "before" and lines[1].startswith("file,audio_s,") and lines[-1] == "after"
    assert lines[2].startswith(clips[0] + ",")  # the summary row
    # listen's printed lines and its JSONL, both into the log
    events = [json.loads(line) for line in lines[3:-1] if line.startswith("{")]
    assert {e["type"] for e in events} >= {"speech", "emotion"}
    assert any("FINAL" in line for line in lines[3:-1])


def test_an_output_that_cannot_be_written_is_refused_before_the_analysis(clips, model_path, tmp_path):
    missing = tmp_path / "missing.wav"  # would be an error line of its own if the analysis ran
    for out, why in ((tmp_path / "nodir" / "x.csv", "No such file or directory"), (tmp_path, "Is a directory")):
        r = run_cli("analyze", clips[0], str(missing), "-o", str(out), "--model", model_path)
        assert r.returncode == 1 and r.stdout == ""
        assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {out}: cannot write output ({why})"]
    assert list(tmp_path.iterdir()) == []


def test_the_output_format_follows_the_file_name_unless_given(clips, model_path, tmp_path):
    def analyze(name: str, *args: str) -> str:
        out = tmp_path / name
        r = run_cli("analyze", clips[0], "-o", str(out), "--model", model_path, *args)
        assert r.returncode == 0, r.stderr
        return out.read_text()

    assert [d["file"] for d in json.loads(analyze("t.JSON"))] == [clips[0]]
    assert {json.loads(line)["file"] for line in analyze("t.jsonl").splitlines()} == {clips[0]}
    for text in (analyze("t.txt"), analyze("t.json", "-f", "csv")):  # otherwise CSV; an explicit -f wins
        rows = list(csv.reader(text.splitlines()))
        assert rows[0][:2] == ["file", "utterance_id"] and rows[1][0] == clips[0]
    # ... and says so where the name suggests another format; a summary is CSV, so s.csv is no surprise
    for name, fmt, warned in (("s.json", "summary", True), ("s.csv", "summary", False), ("e.csv", "jsonl", True)):
        r = run_cli("analyze", clips[0], "-o", str(tmp_path / name), "-f", fmt, "--model", model_path)
        assert r.returncode == 0 and (r.stderr != "") == warned, (name, r.stderr)
        assert assert_one_line_errors(r.stderr, 0, warnings=int(warned)) == []
    r = run_cli("listen", "--replay", clips[0], "--speed", "20", "-o", str(tmp_path / "l.csv"), "--model", model_path)
    assert r.returncode == 0 and f"warning: {tmp_path / 'l.csv'}: writing JSONL" in r.stderr
    assert json.loads((tmp_path / "l.csv").read_text().splitlines()[0])["type"]


def test_progress_counts_seconds_of_audio_for_one_recording_and_files_for_a_batch(data, model_path):
    demo = str(REPO / "assets" / "demo" / "demo-session.flac")
    one = run_cli("analyze", demo, "--progress", "on", "-f", "summary", "--model", model_path)
    assert one.returncode == 0, one.stderr
    states = one.stderr.replace("\r", "\n").splitlines()
    seconds = sf.info(demo).duration
    assert any(f"/{seconds:.0f} s of audio" in s for s in states), one.stderr  # the recording's length
    assert "Traceback" not in one.stderr and "file" not in one.stderr
    batch = run_cli("analyze", demo, str(data / "crema-d-samples"), "--progress", "on", "-f", "summary",
                    "--model", model_path)
    assert batch.returncode == 0, batch.stderr
    assert any("/7 [" in s for s in batch.stderr.replace("\r", "\n").splitlines()), batch.stderr  # 7 files
    quiet = run_cli("analyze", demo, "-f", "summary", "--model", model_path)  # stderr is not a terminal
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.fixture
def small_disk(tmp_path):
    """A 16 KiB file system of its own, unmounted afterwards."""
    with small_tmpfs(tmp_path / "small", "16k") as folder:
        yield folder


def test_listen_output_on_a_full_disk_keeps_only_complete_lines(clips, model_path, tmp_path, small_disk):
    """The disk filling up stopped --output with one line, but left a half-written JSON line at its end:
    the file is now cut back to its last complete line, every line an event, and listening went on."""
    import numpy as np

    from realtime_ser.audio.io import load_audio

    long = tmp_path / "long.wav"
    sf.write(long, np.tile(load_audio(clips[0], 16000), 40), 16000)  # far more events than 16 KiB hold
    out = small_disk / "events.jsonl"
    r = run_cli("listen", "--replay", str(long), "--speed", "1000", "--partials", "-o", str(out),
                "--model", model_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert [line for line in r.stderr.splitlines() if "error" in line] == [
        f"realtime-ser: error: {out}: writing stopped (No space left on device)"]
    text = out.read_text()
    assert len(text) > 8000 and text.endswith("\n")  # what was written before the disk was full is kept
    events = [json.loads(line) for line in text.splitlines()]
    assert {"speech", "emotion"} <= {e["type"] for e in events}
    assert "--- summary ---" in r.stderr  # listening went on to the end of the replay


def test_file_names_that_are_not_utf8_or_hold_line_breaks(clips, tmp_path):
    """A name that is not UTF-8 (latin-1 from an old USB stick) ended CSV and summary output to a
    file in a traceback after the whole analysis; it is written byte for byte, as on stdout. A name
    with a newline or an escape sequence split the one-line error or reached the terminal: kept
    whole in the data (CSV-quoted, JSON-escaped), errors stay one line."""
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    latin = os.fsdecode(b"caf\xe9.flac")
    shutil.copy(clips[0], folder / latin)
    (folder / "empty\nrecording\x1b[31m.wav").write_bytes(b"")
    for fmt in ("csv", "json", "jsonl", "summary"):
        out = tmp_path / f"out.{fmt}"
        proc = run_cli("analyze", str(folder), "-f", fmt, "-o", str(out))
        lines = assert_one_line_errors(proc.stderr, 2)
        assert proc.returncode == 1 and lines == [
            f"realtime-ser: error: {folder}/empty recording [31m.wav: file is empty",
            "realtime-ser: error: 1 of 2 inputs failed"], (fmt, proc.stderr)
        text = out.read_bytes().decode("utf-8", "surrogateescape")
        if fmt == "json":
            names = {entry["file"] for entry in json.loads(text)}
        elif fmt == "jsonl":
            names = {json.loads(line)["file"] for line in text.splitlines()}
        else:
            names = {row["file"] for row in csv.DictReader(text.splitlines(keepends=True))}
        latin_path = os.path.join(folder, latin)
        assert names == ({latin_path, f"{folder}/empty\nrecording\x1b[31m.wav"} if fmt in ("json", "jsonl")
                         else {latin_path}), (fmt, names)
        assert os.path.exists(os.fsencode(latin_path))  # found from what was written
    unreadable = tmp_path / os.fsdecode(b"\xe9t\xe9.wav")
    unreadable.write_bytes(b"")
    proc = run_cli("analyze", str(unreadable), clips[0])
    assert assert_one_line_errors(proc.stderr, 2)[0] == f"realtime-ser: error: {tmp_path}/\ufffdt\ufffd.wav: file is empty"
