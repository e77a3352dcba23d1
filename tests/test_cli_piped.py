"""Audio through pipes: ``analyze -`` (standard input, ``<(...)``, a named pipe) and ``listen --device -``
(a live WAV stream)."""

import io
import os
import pty
import re
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


def with_a_terminal_on_stdin(*args: str) -> subprocess.CompletedProcess:
    """``realtime-ser ARGS`` run with a real terminal (a pseudo-terminal) as its standard input."""
    controller, terminal = pty.openpty()
    try:
        return subprocess.run([sys.executable, "-m", "realtime_ser", *args], stdin=terminal, capture_output=True,
                              text=True, cwd=REPO, env=cli_env(), timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)


def test_a_terminal_on_standard_input_is_refused_not_waited_on(model_path):
    r = with_a_terminal_on_stdin("analyze", "-", "--model", model_path)
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


# -- listen --device -: a live WAV stream on standard input ------------------------------------------


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory):
    """The demo session at 44.1 kHz, 24-bit, on the right channel of two (the left silent)."""
    import numpy as np
    import soundfile as sf
    import soxr

    audio, rate = sf.read(REPO / "assets" / "demo" / "demo-session.flac")
    right = soxr.resample(audio, rate, 44100)
    path = tmp_path_factory.mktemp("stream") / "demo-44k-stereo.wav"
    sf.write(path, np.stack([np.zeros_like(right), right], axis=1), 44100, subtype="PCM_24")
    return path


def listen_to_stream(data: bytes, *args: str, model_path: str, timeout: float = 120):
    """``listen --device -`` fed ``data`` through a pipe in 8 KiB writes (the writer waits when it is full)."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--device", "-", *args,
                             "--model", model_path], stdin=read_end, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=cli_env())
    os.close(read_end)

    def write():
        with open(write_end, "wb", buffering=0) as pipe:
            try:
                for i in range(0, len(data), 8192):
                    pipe.write(data[i:i + 8192])
            except BrokenPipeError:  # a refused stream: the reader has gone
                pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out, err = proc.communicate(timeout=timeout)
    writer.join(5)
    return proc.returncode, out.decode(), err.decode()


def finals_of(jsonl: str) -> list[tuple]:
    import json

    events = [json.loads(line) for line in jsonl.splitlines()]
    return [(e["start"], e["end"], e["label"]) for e in events if e["type"] == "emotion" and e["final"]]


def test_a_piped_wav_stream_is_heard_whole_like_the_file(stereo_wav, model_path, tmp_path):
    rc, out, err = listen_to_stream(stereo_wav.read_bytes(), "--channel", "2", "-o", str(tmp_path / "live.jsonl"),
                                    "--record", str(tmp_path / "sessions"), model_path=model_path)
    assert rc == 0, err
    assert "listening on standard input" in err and "dropped samples: 0, overruns: 0" in err
    assert "Traceback" not in err
    offline = run_cli("analyze", str(stereo_wav), "--channel", "2", "-f", "jsonl", "--model", model_path)
    assert offline.returncode == 0, offline.stderr
    heard = finals_of((tmp_path / "live.jsonl").read_text())
    assert len(heard) >= 3 and heard == finals_of(offline.stdout)  # nothing dropped, the same path
    import soundfile as sf

    session = next((tmp_path / "sessions").iterdir())
    recorded = sf.info(session / "audio.wav")
    assert recorded.samplerate == 16000 and abs(recorded.duration - sf.info(stereo_wav).duration) < 0.05


def test_a_stream_cut_short_ends_with_its_summary(stereo_wav, model_path):
    data = stereo_wav.read_bytes()
    rc, out, err = listen_to_stream(data[: len(data) // 3], "--channel", "2", model_path=model_path)
    assert rc == 0, err
    assert "--- summary ---" in err and "Traceback" not in err
    assert "FINAL" in out  # the utterances in the first third were heard


def test_what_is_not_a_wav_stream_is_one_line(stereo_wav, model_path):
    rc, out, err = listen_to_stream(b"this is not audio\n" * 1000, model_path=model_path)
    assert rc == 1
    assert assert_one_line_errors(err, 1)[0].startswith("realtime-ser: error: standard input: not a WAV or AU stream")
    flac = (REPO / "assets" / "demo" / "demo-session.flac").read_bytes()
    rc, out, err = listen_to_stream(flac, model_path=model_path)
    assert rc == 1 and assert_one_line_errors(err, 1) == [  # said as what it is, with what to do
        "realtime-ser: error: standard input: FLAC cannot be read from a pipe; convert it on the way "
        "(`ffmpeg -i - -f wav -`), or give the file itself with `<`"]
    rc, out, err = listen_to_stream(stereo_wav.read_bytes(), "--channel", "3", model_path=model_path)
    assert rc == 1 and assert_one_line_errors(err, 1) == [
        "realtime-ser: error: standard input: has 2 channels, so there is no channel 3"]
    rc, out, err = listen_to_stream(b"", "--notes-from-stdin", model_path=model_path)
    assert rc == 2 and "notes cannot come from it" in err


def test_a_terminal_is_not_a_stream(model_path):
    r = with_a_terminal_on_stdin("listen", "--device", "-", "--model", model_path)
    assert r.returncode == 1
    assert assert_one_line_errors(r.stderr, 1)[0].startswith(
        "realtime-ser: error: standard input: a terminal, not audio; pipe a WAV stream in")


def test_duration_counts_the_streams_audio(stereo_wav, model_path):
    rc, out, err = listen_to_stream(stereo_wav.read_bytes(), "--channel", "2", "--duration", "8",
                                    model_path=model_path)
    assert rc == 0, err
    seconds = float(err.split("audio: ")[1].split(" s")[0])
    assert seconds == 8.0, err  # to the sample, not the whole 25 s however fast it arrived



def test_a_stream_still_open_at_the_end_leaves_nothing_behind(stereo_wav, model_path):
    """The writer keeps its end open (`(cat x.wav; sleep 10) | listen --device - --duration 2`, `parec
    | ...`): the reader thread waited in read at exit holding the resampler, and nanobind listed it,
    its type and 15 functions as "leaked" on stderr (about 20 lines) after the summary."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--device", "-", "--duration", "2",
                             "--model", model_path], stdin=read_end, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=cli_env())
    os.close(read_end)
    try:
        os.write(write_end, stereo_wav.read_bytes()[: 44100 * 6 * 4])  # 4 s of it; the pipe stays open
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 0, err
    assert "nanobind" not in err.decode() and err.decode().splitlines()[-1].startswith("final-event latency"), err


def test_an_au_stream_of_unknown_length_is_heard_too(stereo_wav, model_path):
    import soundfile as sf

    audio, rate = sf.read(stereo_wav)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="AU", subtype="PCM_16")
    au = bytearray(buffer.getvalue())
    au[8:12] = b"\xff\xff\xff\xff"  # data size unknown, as a recorder writing to a pipe leaves it
    rc, out, err = listen_to_stream(bytes(au), "--channel", "2", model_path=model_path)
    assert rc == 0, err
    assert out.count("FINAL") >= 3 and f"audio: {len(audio) / rate:.1f} s" in err


def test_headerless_pcm_is_heard_like_the_file_given_its_layout(stereo_wav, model_path, tmp_path):
    """parec's default output: no header, so --raw says what the bytes are."""
    import soundfile as sf

    audio, rate = sf.read(stereo_wav)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="RAW", subtype="PCM_24", endian="LITTLE")  # the file's own samples
    rc, out, err = listen_to_stream(buffer.getvalue(), "--raw", "s24le:44100:2", "--channel", "2",
                                    "-o", str(tmp_path / "raw.jsonl"), model_path=model_path)
    assert rc == 0, err
    assert "dropped samples: 0, overruns: 0" in err and "Traceback" not in err
    offline = run_cli("analyze", str(stereo_wav), "--channel", "2", "-f", "jsonl", "--model", model_path)
    heard = finals_of((tmp_path / "raw.jsonl").read_text())
    assert len(heard) >= 3 and heard == finals_of(offline.stdout)
    # The same bytes read with the wrong layout are heard as something else, not refused: nothing in
    # headerless PCM tells a layout from another, which is why --raw has no default.
    rc, out, err = listen_to_stream(buffer.getvalue(), "--raw", "s16le:44100:2", "--channel", "2",
                                    model_path=model_path)
    assert rc == 0 and f"audio: {len(audio) * 3 / 2 / rate:.1f} s" in err, err


def test_raw_layouts_are_parsed_and_bad_ones_named():
    from realtime_ser.audio.pipe_source import RawFormat

    assert RawFormat.parse("s16le:44100:2") == RawFormat("s16le", 44100, 2)
    assert RawFormat.parse("F32LE:48000") == RawFormat("f32le", 48000, 1)
    for text, says in (("s16le", "is not FORMAT:RATE[:CHANNELS]"), ("s12le:16000", "unknown sample format 's12le'"),
                       ("s16le:16k", "whole numbers"), ("s16le:16000:-1", "whole numbers"),
                       ("s16le:10:1", "a rate of 10 Hz is outside"), ("s16le:16000:0", "0 channels is outside"),
                       ("s16le:16000:1:1", "is not FORMAT")):
        with pytest.raises(ValueError, match=re.escape(says)):
            RawFormat.parse(text)


def test_raw_options_that_do_not_fit_are_usage_errors(model_path):
    r = run_cli("listen", "--raw", "s16le:44100:2", "--model", model_path)
    assert r.returncode == 2 and "--raw gives the layout of a stream on stdin: use it with --device -" in r.stderr
    r = run_cli("listen", "--device", "-", "--raw", "s12:44100", "--model", model_path)
    assert r.returncode == 2 and "argument --raw: unknown sample format 's12'" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_while_standard_input_is_copied_removes_the_copy(sig, clip, model_path, tmp_path):
    """`kill` or a closed terminal ended `analyze -` where it stood, leaving up to 2 GiB of spooled audio in
    $TMPDIR; now the run ends as on Ctrl-C: the copy removed, one line, exit 128 + the signal."""
    import signal
    import time

    import numpy as np
    import soundfile as sf

    audio, rate = sf.read(clip, dtype="int16")
    buf = io.BytesIO()
    sf.write(buf, np.tile(audio, 40), rate, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "analyze", "-", "-o", str(tmp_path / "out.csv"),
                             "--model", model_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env(TMPDIR=str(spool_dir)), cwd=REPO)
    try:
        proc.stdin.write(data[: len(data) // 2])  # the writer goes on; the copy is half made
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while not any(spool_dir.rglob("stdin-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        copies = list(spool_dir.rglob("stdin-*"))
        assert copies, "the copy of standard input never appeared"
        while copies[0].stat().st_size < len(data) // 2 - (1 << 20) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert list(spool_dir.iterdir()) == [] and not (tmp_path / "out.csv").exists()
    assert assert_one_line_errors(err.decode(), 1) == [f"realtime-ser: error: interrupted ({sig})"]
    assert proc.returncode == 128 + getattr(signal, sig)
