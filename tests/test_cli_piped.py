"""``analyze -`` and pipes: audio that arrives through standard input, ``<(...)`` or a named pipe."""

import io
import os
import pty
import subprocess
import sys
import threading

import pytest

from realtime_ser.cli.piped import spool
from tests.conftest import REPO, cli_env, run_cli
from tests.test_cli import assert_one_line_errors

CLIP = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"  # angry: speech the VAD finds


@pytest.fixture(scope="module")
def clip(data):
    return str(data / CLIP)


def rows_without_file(csv_text: str) -> list[str]:
    return [line.split(",", 1)[1] for line in csv_text.splitlines()]


def test_standard_input_is_analysed_like_the_file_and_its_copy_removed(clip, model_path, tmp_path):
    direct = run_cli("analyze", clip, "--model", model_path)
    assert direct.returncode == 0, direct.stderr
    env = cli_env(TMPDIR=str(tmp_path))
    with open(clip, "rb") as f:
        piped = subprocess.run([sys.executable, "-m", "realtime_ser", "analyze", "-", "--model", model_path],
                               input=f.read(), capture_output=True, env=env, cwd=REPO, timeout=120)
    assert piped.returncode == 0, piped.stderr
    out = piped.stdout.decode()
    assert len(out.splitlines()) >= 2 and all(line.startswith("-,") for line in out.splitlines()[1:])
    assert rows_without_file(out) == rows_without_file(direct.stdout)  # the same path, the same results
    assert list(tmp_path.iterdir()) == []  # the temporary copy went with the run


def test_a_named_pipe_and_process_substitution(clip, model_path, tmp_path):
    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as out, open(clip, "rb") as f:  # blocks until analyze opens the pipe
            out.write(f.read())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    r = run_cli("analyze", str(fifo), "-f", "summary", "--model", model_path)
    writer.join(5)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith(f"{fifo},")
    assert r.stdout.splitlines()[1].split(",")[2] == "1"  # one utterance

    script = f'{sys.executable} -m realtime_ser analyze <(cat "{clip}") "{clip}" --model "{model_path}"'
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=REPO, env=cli_env(),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].startswith("/dev/fd/") and lines[2].startswith(clip)
    assert rows_without_file(lines[1]) == rows_without_file(lines[2])


def test_bad_piped_input_is_one_line(clip, model_path):
    def analyze_stdin(data: bytes, *extra: str):
        return subprocess.run([sys.executable, "-m", "realtime_ser", "analyze", "-", *extra, "--model", model_path],
                              input=data, capture_output=True, cwd=REPO, env=cli_env(), timeout=120)

    r = analyze_stdin(b"")
    assert r.returncode == 1 and r.stdout == b""
    assert assert_one_line_errors(r.stderr.decode(), 1) == [
        "realtime-ser: error: -: nothing arrived through standard input; nothing written"]
    r = analyze_stdin(b"this is not audio\n" * 100)
    assert r.returncode == 1
    error = assert_one_line_errors(r.stderr.decode(), 1)[0]
    assert error.startswith("realtime-ser: error: -: cannot decode audio: not a supported audio file")
    r = analyze_stdin(b"", clip)  # in a batch, the empty pipe is one failed input and the file is analysed
    assert r.returncode == 1 and r.stdout.decode().splitlines()[1].startswith(clip)
    assert assert_one_line_errors(r.stderr.decode(), 2)[0].endswith("-: nothing arrived through standard input")


def test_a_terminal_on_standard_input_is_refused_not_waited_on(model_path):
    controller, terminal = pty.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "realtime_ser", "analyze", "-", "--model", model_path],
                           stdin=terminal, capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert r.returncode == 1
    error = assert_one_line_errors(r.stderr, 1)[0]
    assert error.startswith("realtime-ser: error: -: standard input is a terminal, not audio")


def test_a_pipe_is_copied_up_to_its_limit(tmp_path):
    target = tmp_path / "copy"
    assert spool(io.BytesIO(b"x" * 100), target, "-", limit=100) == (target, None)
    assert target.read_bytes() == b"x" * 100
    path, error = spool(io.BytesIO(b"x" * 101), target, "-", "standard input", limit=100)
    assert path is None and not target.exists()  # no partial copy is left
    assert error == "-: more than 100 bytes arrived through standard input; save it to a file and analyse that"


def test_a_replay_of_a_pipe_is_a_usage_error_pointing_to_analyze(model_path):
    r = run_cli("listen", "--replay", "-", "--model", model_path, input="")
    assert r.returncode == 2
    error = assert_one_line_errors(r.stderr, 1)[0]
    assert "a replay reads a file, not a pipe" in error and "realtime-ser analyze -" in error
