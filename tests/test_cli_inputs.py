"""What the command line takes in: repeated inputs, session folders inside folders and as a replay,
a missing microphone with --record, and the messages for inputs of the wrong kind."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, no_audio_server_env, run_cli
from tests.test_cli import CLIPS, _record_session, assert_one_line_errors


@pytest.fixture(scope="module")
def clips(data):
    return [str(data / "ravdess" / c) for c in CLIPS]


def summary_files(r) -> list[str]:
    assert r.returncode == 0, r.stderr
    return [row["file"] for row in csv.DictReader(r.stdout.splitlines())]


def test_an_input_met_twice_is_analysed_once(clips, model_path, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    a, b = folder / "a.flac", folder / "b.flac"
    shutil.copyfile(clips[0], a)
    shutil.copyfile(clips[1], b)
    (tmp_path / "link.flac").symlink_to(a)
    r = run_cli("analyze", str(a), str(tmp_path / "link.flac"), str(folder), str(a), "-f", "summary",
                "--model", model_path)
    assert summary_files(r) == [str(a), str(b)]  # first-seen order; the link is the same file


def test_linked_folders_in_a_folder_are_searched_once_and_end_no_loop(clips, model_path, tmp_path):
    """A folder of links to the folders to analyse gave "no audio files": linked folders were passed
    over (linked files were taken).  Now they are followed; a link back up the tree ends no loop, and
    a folder reached twice is analysed once."""
    recordings = tmp_path / "recordings"
    (recordings / "monday").mkdir(parents=True)
    shutil.copyfile(clips[0], recordings / "monday" / "a.flac")
    todo = tmp_path / "todo"
    todo.mkdir()
    (todo / "monday").symlink_to(recordings / "monday")
    (todo / "also-monday").symlink_to(recordings / "monday")
    (recordings / "monday" / "up").symlink_to(todo)  # a loop: todo/monday/up/monday/...
    shutil.copyfile(clips[1], todo / "b.flac")
    r = run_cli("analyze", str(todo), "-f", "summary", "--model", model_path)
    assert summary_files(r) == [str(todo / "also-monday" / "a.flac"), str(todo / "b.flac")], r.stderr
    assert r.stderr == ""


def test_session_folders_found_in_a_folder_are_sessions(model_path, tmp_path):
    from realtime_ser.pipeline.events import MarkerEvent

    parent = tmp_path / "sessions"
    folder = _record_session(parent, [MarkerEvent(1, 2.5, "here")])
    sf.write(parent / "loose.wav", np.zeros(16000, np.float32), 16000)  # a plain file beside it
    named = run_cli("analyze", str(folder), "-f", "json", "--model", model_path)
    found = run_cli("analyze", str(tmp_path), "-f", "json", "--model", model_path)
    assert named.returncode == found.returncode == 0, found.stderr
    doc = json.loads(found.stdout)
    assert [d["file"] for d in doc] == [str(folder), str(parent / "loose.wav")]  # not .../audio.wav
    def timeline(entry):  # a result's latency is measured, not stored: it differs from run to run
        return entry["file"], [{k: v for k, v in e.items() if k != "latency_ms"} for e in entry["events"]]

    assert timeline(doc[0]) == timeline(json.loads(named.stdout)[0])  # markers and all, as when named directly
    assert [e["note"] for e in doc[0]["events"] if e["type"] == "marker"] == ["here"]


def test_listen_replays_a_session_folder_for_a_duration_of_audio(model_path, tmp_path):
    folder = _record_session(tmp_path / "sessions", [])
    r = run_cli("listen", "--replay", str(folder), "--speed", "8", "--duration", "4", "--model", model_path)
    assert r.returncode == 0, r.stderr
    assert f"listening on {folder.name} " in r.stderr and "FINAL" in r.stdout
    seconds = float(r.stderr.split("audio: ")[1].split(" s")[0])
    assert 4.0 <= seconds < 4.5  # seconds of the recording, not 4 s on the clock (32 s of audio at 8x)


def test_record_without_a_microphone_leaves_no_session(clips, model_path, tmp_path):
    env = no_audio_server_env(tmp_path)
    sessions = tmp_path / "sessions"
    r = run_cli("listen", "--record", str(sessions), "--duration", "1", "--model", model_path, env=env)
    assert r.returncode == 1 and "recording session" not in r.stderr
    assert "no audio input device" in assert_one_line_errors(r.stderr, 1)[0]
    assert not sessions.exists()  # not even the folder it would have made for the session
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    r = run_cli("listen", "--replay", clips[0], "--record", str(notes), "--model", model_path)
    assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {notes}: is a file, not a folder for sessions"]
    assert notes.read_text() == "mine"


def test_messages_name_the_real_problem(clips, model_path, tmp_path):
    folder = tmp_path / "model.tflite"
    folder.mkdir()
    r = run_cli("analyze", clips[0], "--model", str(folder))
    assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {folder}: is a directory, not a model file"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_path": str(tmp_path / "gone.tflite")}))
    r = run_cli("listen", "--replay", clips[0], "--config", str(config))
    assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {tmp_path / 'gone.tflite'}: model file not found (model_path in {config})"]

    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(open(clips[0], "rb").read()[:3000])
    r = run_cli("listen", "--replay", str(truncated), "--model", model_path)
    assert r.returncode == 1 and "error" not in r.stdout  # said once, on stderr
    (line,) = [l for l in r.stderr.splitlines() if "error" in l]
    assert line.startswith(f"realtime-ser: error: {truncated}: corrupt or truncated audio")


@pytest.fixture(scope="module")
def damaged_mp3(tmp_path_factory):
    """An MP3 with a damaged frame: libmpg123 prints its complaint straight to fd 2 while decoding."""
    from realtime_ser.audio.io import load_audio

    from tests.test_cli import DEMO

    path = tmp_path_factory.mktemp("mp3") / "damaged.mp3"
    sf.write(path, load_audio(DEMO, 16000)[: 16000 * 6], 16000, format="MP3")
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 400, 37):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    decode = subprocess.run([sys.executable, "-c", f"import soundfile; soundfile.read({str(path)!r})"],
                            capture_output=True, text=True)
    assert "[src/libmpg123/" in decode.stderr  # the chatter these tests keep off the terminal
    return path


def test_mp3_decoder_chatter_stays_off_the_terminal(damaged_mp3, model_path, tmp_path):
    r = run_cli("listen", "--replay", str(damaged_mp3), "--speed", "8", "--model", model_path)
    assert r.returncode == 0 and "libmpg123" not in r.stderr, r.stderr
    for i in range(8):  # enough for worker processes (--jobs 0 starts them from 8 files)
        shutil.copyfile(damaged_mp3, tmp_path / f"{i}.mp3")
    r = run_cli("analyze", str(tmp_path), "--model", model_path)
    assert r.returncode == 0 and r.stderr == "" and len(r.stdout.splitlines()) > 8


def test_paths_that_cannot_be_looked_up_are_one_line_errors(clips, model_path, tmp_path):
    """A name too long for the file system (ENAMETOOLONG) and a symlink loop, wherever a path is given:
    `Path.is_dir()`, `exists()` and `resolve()` raise for these, which printed tracebacks."""
    long = str(tmp_path / ("b" * 300))
    loop = tmp_path / "loop1.wav"
    loop.symlink_to(tmp_path / "loop2.wav")
    (tmp_path / "loop2.wav").symlink_to(loop)
    too_long = "File name too long"
    cases = [
        (["analyze", f"{long}.wav"], f"{long}.wav: {too_long}; nothing written"),
        (["analyze", str(loop)], f"{loop}: a symlink loop (a symbolic link that leads back to itself); nothing written"),
        (["listen", "--replay", f"{long}.wav"], f"{long}.wav: {too_long}"),
        (["listen", "--replay", str(loop)], f"{loop}: a symlink loop (a symbolic link that leads back to itself)"),
        (["listen", "--replay", clips[0], "--record", long], f"{long}: cannot record sessions there ({too_long})"),
        (["sessions", long], f"{long}: {too_long}"),
        (["analyze", clips[0], "--config", f"{long}.json"], f"{long}.json: cannot read config file ({too_long})"),
        (["analyze", clips[0], "--config", str(loop)], f"{loop}: cannot read config file (a symlink loop)"),
        (["analyze", clips[0], "--model", f"{long}.tflite"], f"{long}.tflite: cannot read the model ({too_long})"),
    ]
    for args, expected in cases:
        r = run_cli(*args, *(["--model", model_path] if "--model" not in args and args[0] != "sessions" else []))
        assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {expected}"], args
    # in a batch, each is one input's error and the others are analysed
    r = run_cli("analyze", clips[0], str(loop), f"{long}.wav", "-f", "summary", "--model", model_path)
    assert r.returncode == 1 and [row["file"] for row in csv.DictReader(r.stdout.splitlines())] == [clips[0]]
    assert assert_one_line_errors(r.stderr, 3)[-1] == "realtime-ser: error: 2 of 3 inputs failed"


def test_an_os_error_no_command_expected_is_one_line_not_a_traceback(tmp_path):
    """The top level's safety net: a session folder whose path is longer than the system's PATH_MAX,
    inside a parent whose own path is not, fails deep in reading the folder (not a path the command
    line checks): one line naming the path and why, exit 1."""
    parent = tmp_path
    while len(str(parent)) < 4000:
        parent = parent / ("d" * min(200, 4060 - len(str(parent))))
    parent.mkdir(parents=True)
    fd = os.open(parent, os.O_RDONLY)
    try:
        os.mkdir("2026-01-02_10-00-00" + "x" * 80, dir_fd=fd)  # too long only with its parent's path
    finally:
        os.close(fd)
    r = run_cli("sessions", str(parent))
    (line,) = assert_one_line_errors(r.stderr, 1)
    assert r.returncode == 1 and line.startswith(f"realtime-ser: error: {parent}/2026-01-02")
    assert line.endswith(": File name too long")


def test_misleading_messages_say_what_is_wrong(model_path, tmp_path):
    """`--replay ''` quietly listened to the microphone, `analyze ''` read the current folder and `--record ''`
    recorded into the settings' session folder; a file of
    /proc (size 0, not empty) was "file is empty"; an empty stream on `listen --device -` was "not a WAV or
    AU stream" where `analyze -` says nothing arrived.  (A symlink loop: see the test above.)"""
    for args, option in ((["listen", "--replay", ""], "--replay"), (["analyze", ""], "FILE|DIR"),
                         (["sessions", ""], "DIR"), (["listen", "--replay", "x.wav", "-o", ""], "--output/-o"),
                         (["listen", "--replay", "x.wav", "--record", ""], "--record")):
        r = run_cli(*args, "--model", model_path) if args[0] != "sessions" else run_cli(*args)
        assert r.returncode == 2 and assert_one_line_errors(r.stderr, 1) == [
            f"realtime-ser: error: argument {option}: an empty path ('') names no file or folder "
            f"(see `realtime-ser {args[0]} --help`)"], args

    not_audio = "/proc/self/status: not an audio file (a file of the system that reports no size, as in /proc)"
    r = run_cli("analyze", "/proc/self/status", "--model", model_path)
    assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {not_audio}; nothing written"]
    r = run_cli("listen", "--replay", "/proc/self/status", "--model", model_path)
    assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {not_audio}"]
    r = run_cli("analyze", "/dev/zero", "--model", model_path, timeout=30)
    assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [
        "realtime-ser: error: /dev/zero: not an audio file (a device); nothing written"]

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for stdin in (subprocess.DEVNULL, "pipe", empty):
        with open(empty, "rb") if stdin == empty else open(os.devnull, "rb") as devnull:
            kw = {"input": ""} if stdin == "pipe" else {"stdin": devnull}
            for command in (["analyze", "-"], ["listen", "--device", "-"]):
                r = run_cli(*command, "--model", model_path, timeout=60, **kw)
                ending = "; nothing written" if command[0] == "analyze" else ""
                assert r.returncode == 1 and assert_one_line_errors(r.stderr, 1) == [
                    f"realtime-ser: error: -: nothing arrived through standard input{ending}"], (command, stdin)


def test_record_without_a_folder_records_into_the_settings_session_folder(model_path, tmp_path):
    """`--record` alone takes the folder of the settings (`--record ''` is refused, above)."""
    sessions = tmp_path / "from-settings"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"session_dir": str(sessions)}))
    r = run_cli("listen", "--replay", str(REPO / "assets" / "demo" / "demo-session.flac"), "--speed", "20",
                "--duration", "2", "--record", "--config", str(config), "--model", model_path)
    assert r.returncode == 0, r.stderr
    (folder,) = sessions.iterdir()
    assert (folder / "manifest.json").is_file() and f"session saved: {folder}" in r.stderr
