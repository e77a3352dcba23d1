"""The command line, run as a user would (``python -m realtime_ser``), including bad input."""

import csv
import io
import json
import os
import re
import signal
import struct
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, cli_env, no_audio_server_env, run_cli

CLIPS = ["Actor_01/03-01-05-02-01-01-01.flac", "Actor_02/03-01-03-01-01-01-02.flac"]


def wav_header(data_bytes: int, fmt_code=1, channels=1, rate=16000, bits=16) -> bytes:
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes & 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, fmt_code, channels, rate, rate * block, block, bits)
            + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


def assert_one_line_errors(stderr: str, expected: int, warnings: int = 0):
    lines = [l for l in stderr.splitlines() if l.startswith("realtime-ser: error:")]
    warned = [l for l in stderr.splitlines() if l.startswith("realtime-ser: warning:")]
    assert "Traceback" not in stderr
    assert len(lines) == expected and len(warned) == warnings, stderr
    # nothing else on stderr either: no runtime chatter ("INFO: Created TensorFlow Lite XNNPACK ...")
    assert sorted(l for l in stderr.splitlines() if l.strip()) == sorted(lines + warned), stderr
    return lines


@pytest.fixture(scope="module")
def clips(data):
    return [str(data / "ravdess" / c) for c in CLIPS]


def test_analyze_formats(clips, model_path, tmp_path):
    r = run_cli("analyze", *clips, "--model", model_path)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.strip().splitlines()
    assert rows[0].startswith("file,utterance_id,start,end,label,top_label,confidence,final,p_")
    assert len(rows) == 3 and rows[1].startswith(clips[0])
    out = tmp_path / "t.json"
    r = run_cli("analyze", *clips, "-f", "json", "-o", str(out), "--model", model_path)
    assert r.returncode == 0 and r.stdout == ""
    doc = json.loads(out.read_text())
    assert [d["file"] for d in doc] == clips
    assert [e["type"] for e in doc[0]["events"]] == ["speech", "speech", "emotion"]
    r = run_cli("analyze", clips[0], "-f", "jsonl", "--partials", "--model", model_path)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert any(l["type"] == "emotion" and not l["final"] for l in lines)


def test_analyze_directory_in_parallel_equals_serial(data, model_path):
    folder = str(data / "crema-d-samples")
    serial = run_cli("analyze", folder, "--model", model_path)
    parallel = run_cli("analyze", folder, "--jobs", "0", "--model", model_path)
    assert serial.returncode == parallel.returncode == 0, parallel.stderr
    assert serial.stdout == parallel.stdout
    assert len(serial.stdout.splitlines()) >= 6  # header + a row for (nearly) every clip


def test_bad_inputs_are_reported_and_the_batch_goes_on(clips, model_path, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n" * 50)
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(open(clips[0], "rb").read()[:3000])
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    unsupported = tmp_path / "gsm.wav"  # WAVE_FORMAT 0x0161 (WMA) is not decodable
    unsupported.write_bytes(wav_header(3200, fmt_code=0x0161) + b"\0" * 3200)
    huge = tmp_path / "huge.wav"  # header claims ~4 GB of audio, the file holds 1 s
    huge.write_bytes(wav_header(0xFFFFFFF0) + (np.random.default_rng(0).standard_normal(16000) * 300)
                     .astype("<i2").tobytes())
    missing = tmp_path / "missing.wav"
    inputs = [str(p) for p in (missing, empty, text, truncated, silent, unsupported, huge)] + clips
    r = run_cli("analyze", *inputs, "-f", "json", "--model", model_path)
    assert r.returncode == 1
    lines = assert_one_line_errors(r.stderr, 6, warnings=2)  # five bad files + the "N of M failed" line
    assert f"realtime-ser: warning: {silent}: no speech found: the audio is silent" in r.stderr
    assert f"realtime-ser: warning: {huge}: no speech found: the loudest moment is" in r.stderr  # steady noise
    for bad in (missing, empty, text, truncated, unsupported):
        assert any(str(bad) in l for l in lines), (bad, lines)
    assert "5 of 9 inputs failed" in lines[-1]
    doc = {d["file"]: d for d in json.loads(r.stdout)}
    # silence is valid audio with no speech: no error, but the timeline says so
    assert [e["type"] for e in doc[str(silent)]["events"]] == ["status"]
    assert "events" in doc[str(huge)]  # the lying header does not stop it
    assert "truncated" in doc[str(truncated)]["error"]
    assert all(len(doc[c]["events"]) == 3 for c in clips)


def test_unreadable_file(clips, model_path, tmp_path):
    locked = tmp_path / "locked.wav"
    locked.write_bytes(open(clips[0], "rb").read())
    locked.chmod(0)
    cmd = [sys.executable, "-m", "realtime_ser", "analyze", str(locked), clips[1], "--model", model_path]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 1
    line = assert_one_line_errors(r.stderr, 2)[0]
    assert "permission denied" in line and str(locked) in line
    assert clips[1] in r.stdout  # the readable file was still analysed


def test_an_unreadable_subfolder_is_one_error_and_the_rest_is_analysed(clips, model_path, tmp_path):
    """A folder holding one that cannot be read (``lost+found`` on a USB drive): the whole analysis
    ended in that folder's error, the files beside it unanalysed."""
    import shutil

    folder = tmp_path / "drive"
    (folder / "lost+found").mkdir(parents=True)
    shutil.copy(clips[0], folder / "a.flac")
    (folder / "lost+found").chmod(0)
    cmd = [sys.executable, "-m", "realtime_ser", "analyze", str(folder), "--model", model_path]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    (folder / "lost+found").chmod(0o700)
    lines = assert_one_line_errors(r.stderr, 2)
    assert r.returncode == 1 and lines == [
        f"realtime-ser: error: {folder}/lost+found: cannot read this folder (Permission denied)",
        "realtime-ser: error: 1 of 2 inputs failed"], r.stderr
    assert f"{folder}/a.flac" in r.stdout  # the readable file was still analysed


def test_output_is_replaced_only_by_a_real_timeline(clips, model_path, tmp_path):
    out = tmp_path / "timeline.csv"
    assert run_cli("analyze", clips[0], "-o", str(out), "--model", model_path).returncode == 0
    earlier = out.read_text()
    assert clips[0] in earlier
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + b"\x00" * 100)
    r = run_cli("analyze", str(bad), str(tmp_path / "missing.wav"), "-o", str(out), "--model", model_path)
    assert r.returncode == 1 and r.stdout == ""
    assert assert_one_line_errors(r.stderr, 3)[-1] == "realtime-ser: error: all 2 inputs failed; nothing written"
    assert out.read_text() == earlier  # an empty timeline did not replace the earlier one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav", "timeline.csv"]  # no temporary left
    # One input that fails: one line, saying what and that nothing was written.
    for one, why in ((bad, "cannot decode audio"), (tmp_path / "missing.wav", "no such file")):
        r = run_cli("analyze", str(one), "-o", str(out), "--model", model_path)
        (line,) = assert_one_line_errors(r.stderr, 1)
        assert r.returncode == 1 and line.startswith(f"realtime-ser: error: {one}: ") and why in line, line
        assert line.endswith("; nothing written") and out.read_text() == earlier


def test_missing_model_is_one_line(clips, tmp_path):
    r = run_cli("analyze", clips[0], "--model", str(tmp_path / "nope.tflite"))
    assert r.returncode == 1
    assert_one_line_errors(r.stderr, 1)
    assert "model file not found" in r.stderr


def test_listen_without_any_microphone(model_path, tmp_path):
    env = no_audio_server_env(tmp_path)
    sessions = tmp_path / "sessions"
    for args in ([], ["--device", "7"], ["--device", "no-such-mic"], ["--record", str(sessions)]):
        r = run_cli("listen", "--duration", "2", "--model", model_path, *args, env=env)
        assert r.returncode == 1
        assert_one_line_errors(r.stderr, 1)
    assert not sessions.exists()  # the session begun for the microphone that did not open is gone, and its folder


def test_devices_and_listen_errors_with_an_audio_server(pulse, model_path, tmp_path):
    r = run_cli("devices", env=pulse.env)
    assert r.returncode == 0 and "pulse" in r.stdout
    # an ALSA device that can only play: PortAudio lists it with 0 input channels
    (tmp_path / ".asoundrc").write_text('pcm.playonly { type asym playback.pcm "pulse" }\n')
    env = dict(pulse.env, HOME=str(tmp_path))
    r = run_cli("devices", env=env)
    assert "playonly" in r.stdout
    r = run_cli("listen", "--device", "playonly", "--duration", "1", "--model", model_path, env=env)
    assert r.returncode == 1
    (line,) = assert_one_line_errors(r.stderr, 1)
    assert "no input channels" in line


def test_listen_replay_jsonl_and_ctrl_c_summary(clips, model_path, tmp_path):
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_ser", "listen", "--replay", clips[0], "--speed", "2",
         "--output", str(out), "--model", model_path],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(0.5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "FINAL" not in (out.read_text() if out.exists() else "") \
            and '"final": true' not in (out.read_text() if out.exists() else ""):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "--- summary ---" in stderr and "utterances: 1" in stderr and "Traceback" not in stderr
    assert "FINAL" in stdout
    from realtime_ser.pipeline.events import event_from_dict

    events = [event_from_dict(json.loads(l)) for l in out.read_text().splitlines()]
    assert [e.type for e in events][:2] == ["speech", "emotion"]


def test_listen_records_a_session_that_analyze_reads_back(clips, model_path, tmp_path):
    from realtime_ser.session import Session

    r = run_cli("listen", "--replay", clips[0], "--speed", "4", "--model", model_path,
                "--record", str(tmp_path / "sessions"), "--title", "P07 baseline", timeout=60)
    assert r.returncode == 0, r.stderr
    (folder,) = (tmp_path / "sessions").iterdir()
    session = Session.open(folder)
    assert session.status == "complete" and not session.warnings and session.title == "P07 baseline"
    r = run_cli("sessions", str(tmp_path / "sessions"))
    header, line = r.stdout.splitlines()
    assert header.split()[5] == "title" and "  P07 baseline  " in line  # a column once a session has one
    assert abs(session.duration - sf.info(clips[0]).duration) < 0.1
    finals = [e for e in session.events if e.type == "emotion" and e.final]
    assert len(finals) == 1
    r = run_cli("analyze", str(folder), "--format", "json", "--model", model_path)
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads(r.stdout)
    reanalysed = [e for e in entry["events"] if e["type"] == "emotion" and e["final"]]
    assert [e["label"] for e in reanalysed] == [finals[0].label]
    assert abs(reanalysed[0]["start"] - finals[0].start) < 0.05


def test_options_that_do_not_fit_are_usage_errors(clips, model_path, tmp_path):
    """Refused before anything starts, exit 2 as argparse's own errors: nothing is recorded or cut.
    The line ends, as argparse's do, with the command's --help (README's promise)."""
    combinations = [
        (["--replay", clips[0], "--title", "P07"], "--title names a recorded session: use it with --record"),
        (["--title", "x"], "--title names a recorded session: use it with --record"),
        (["--speed", "2"], "--speed sets the pace of a replay: use it with --replay"),
        (["--replay", clips[0], "--device", "0"], "--device picks a microphone: a replay (--replay) does not use one"),
        (["--replay", "-"], "--replay -: a replay reads a file, not a pipe; analyse piped audio with "
                            "`realtime-ser analyze -`"),
        (["--raw", "s16le:16000"], "--raw gives the layout of a stream on stdin: use it with --device -"),
        (["--replay", clips[0], "--record", str(tmp_path), "--title", "x" * 201],
         "--title is 201 characters long; at most 200 are allowed"),
    ]
    for args, message in combinations:
        r = run_cli("listen", *args, "--model", model_path, input="")
        pointer = "(see `realtime-ser listen --help`)"
        assert (r.returncode, r.stderr) == (2, f"realtime-ser: error: {message} {pointer}\n"), args
    assert list(tmp_path.iterdir()) == []  # no session folder for the refused title
    r = run_cli("analyze", clips[0], "-o", clips[0], "--model", model_path)
    message = f"--output {clips[0]} would replace {clips[0]}, an input of this run; name another file"
    assert (r.returncode, r.stderr) == (2, f"realtime-ser: error: {message} (see `realtime-ser analyze --help`)\n")
    values = [  # 0 would divide by zero (--speed) or end before starting (--duration)
        (["listen", "--replay", clips[0], "--speed", "0"], "argument --speed: must be a number > 0, not 0"),
        (["listen", "--replay", clips[0], "--speed", "-2"], "argument --speed: must be a number > 0, not -2"),
        (["listen", "--duration", "0"], "argument --duration: must be a number > 0, not 0"),
        (["listen", "--duration", "-1"], "argument --duration: must be a number > 0, not -1"),
        (["analyze", clips[0], "--jobs", "-1"], "argument --jobs/-j: must be a whole number >= 0, not -1"),
    ]
    values += [  # argparse's own checks, in the same one-line form
        (["analyze", clips[0], "--format", "xml"], "argument --format/-f: invalid choice: 'xml'"),
        (["sessions", "--bogus"], "unrecognized arguments: --bogus"),  # argparse says it from the top parser:
        (["analyze", "--bogus", "x"], "unrecognized arguments: --bogus"),  # `realtime-ser --help` lacks it
        (["analyze"], "the following arguments are required"),
    ]
    for args, message in values:
        r = run_cli(*args)
        (line,) = r.stderr.splitlines()  # no usage block: the reason, and where the options are
        assert r.returncode == 2 and line.startswith(f"realtime-ser: error: {message}"), (args, r.stderr)
        assert line.endswith(f"(see `realtime-ser {args[0]} --help`)"), line


def test_bad_config_file_is_one_line(clips, model_path, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"vad_threshold_db": "loud"}')
    r = run_cli("listen", "--replay", clips[0], "--config", str(cfg), "--model", model_path)
    assert r.returncode == 1
    assert_one_line_errors(r.stderr, 1)
    assert "vad_threshold_db" in r.stderr


def test_a_bad_setting_an_option_replaces_is_a_warning_and_the_run_goes_on(clips, model_path, tmp_path):
    """A bad key whose option is given is not used: one warning naming file, key and option; a bad
    key no option replaces is still the one-line error."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"vad_threshold_db": "loud", "model_path": ""}))
    r = run_cli("analyze", clips[0], "--config", str(cfg), "--threshold-db", "10", "-f", "summary",
                "--model", model_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"realtime-ser: warning: {cfg}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\"; "
        "--threshold-db overrides it",
        f"realtime-ser: warning: {cfg}: setting 'model_path' must be a file path or null, not \"\"; --model overrides it",
    ]
    r = run_cli("analyze", clips[0], "--config", str(cfg), "-f", "summary", "--model", model_path)
    assert r.returncode == 1 and r.stdout == ""
    assert assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {cfg}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\""]

    # listen: a replay uses no microphone; --record DIR replaces both the switch and the folder
    cfg.write_text(json.dumps({"device": 2.5, "record_sessions": "yes", "session_dir": ""}))
    listen = ["listen", "--replay", clips[0], "--speed", "8", "--config", str(cfg), "--model", model_path]
    r = run_cli(*listen, "--record", str(tmp_path / "sessions"))
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if line.startswith("realtime-ser: warning:")]
    assert [line.rsplit("; ", 1)[1] for line in warned] == [
        "--replay overrides it", "--record overrides it", "--record DIR overrides it"]
    assert all(line.startswith(f"realtime-ser: warning: {cfg}: setting '") for line in warned)
    assert len(list((tmp_path / "sessions").iterdir())) == 1 and "Traceback" not in r.stderr
    r = run_cli(*listen)  # a replay is recorded only with --record: record_sessions is not read
    assert r.returncode == 0 and "setting 'record_sessions' must be true or false, not \"yes\"; --replay " \
                                 "overrides it" in r.stderr, r.stderr
    r = _listen_piped(clips[0], "--config", str(cfg), "--model", model_path)  # a live input reads it
    assert r.returncode == 1
    assert assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {cfg}: setting 'record_sessions' must be true or false, not \"yes\""]


def test_a_bad_setting_a_command_does_not_read_is_a_warning_for_it(data, model_path, tmp_path):
    """A bad default microphone must not stop `analyze`, nor a bad threshold `sessions`; `listen`,
    which reads them, still stops on them."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"device": 2.5, "vad_threshold_db": "loud", "session_dir": str(tmp_path / "s")}))
    clip = str(data / "crema-d-samples/ANG.wav")
    r = run_cli("analyze", clip, "--config", str(cfg), "-f", "summary", "--threshold-db", "12", "--model", model_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"realtime-ser: warning: {cfg}: setting 'device' must be a device name, a device number or null, not 2.5; "
        "`analyze` does not use it",
        f"realtime-ser: warning: {cfg}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\"; "
        "--threshold-db overrides it"]
    r = run_cli("sessions", "--config", str(cfg))
    assert r.returncode == 0 and "no sessions recorded yet" in r.stderr, r.stderr
    assert [line.rsplit("; ", 1)[1] for line in r.stderr.splitlines() if "warning" in line] == [
        "`sessions` does not use it", "`sessions` does not use it"]
    r = run_cli("listen", "--replay", clip, "--config", str(cfg), "--model", model_path)
    assert r.returncode == 1  # listen reads the threshold (the replay replaces only the device)
    assert assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {cfg}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\""]


def test_analyze_says_why_it_found_no_speech_and_the_threshold_finds_it(data, model_path, tmp_path):
    from realtime_ser.audio.io import load_audio

    # soft speech about 10 dB over a hiss (the CREMA-D clip with white noise at -52 dBFS added)
    clip = load_audio(data / "crema-d-samples/SAD.wav", 16000)
    hiss = np.random.default_rng(0).standard_normal(clip.size).astype(np.float32) * 10 ** (-52 / 20)
    soft = str(tmp_path / "soft.wav")
    sf.write(soft, clip + hiss, 16000, subtype="FLOAT")
    out = tmp_path / "timeline.csv"
    out.write_text("earlier\n")
    r = run_cli("analyze", soft, "-o", str(out), "--model", model_path)
    assert r.returncode == 1
    line = assert_one_line_errors(r.stderr, 1)[0]
    assert line.startswith(f"realtime-ser: error: {soft}: no speech found: nothing stayed 12 dB above")
    assert "(a lower --threshold-db finds quieter speech)" in line  # the option that does it
    assert line.endswith("; nothing written") and out.read_text() == "earlier\n"
    r = run_cli("analyze", soft, "--threshold-db", "9", "--model", model_path)
    assert r.returncode == 0 and r.stderr == ""
    assert len(r.stdout.splitlines()) == 2  # header + the utterance
    r = run_cli("analyze", soft, "--threshold-db", "70", "--model", model_path)
    assert r.returncode == 2 and "argument --threshold-db: must be a number >= 0 and <= 60, not 70" in r.stderr


def test_analyze_summary_sums_the_timeline_per_input(clips, model_path, tmp_path):
    import csv as _csv

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    inputs = clips + [str(silent), str(tmp_path / "missing.wav")]
    r = run_cli("analyze", *inputs, "-f", "summary", "--model", model_path)
    assert r.returncode == 1  # the missing file
    rows = list(_csv.DictReader(r.stdout.splitlines()))
    assert [row["file"] for row in rows] == clips + [str(silent)]  # a failed input has no row
    timeline = json.loads(run_cli("analyze", *clips, "-f", "json", "--model", model_path).stdout)
    labels = [k[: -len("_s")] for k in rows[0] if k.endswith("_s") and k not in ("audio_s", "speech_s")]
    assert labels[-1] == "uncertain" and len(labels) == 8
    for row, doc in zip(rows, timeline):
        finals = [e for e in doc["events"] if e["type"] == "emotion" and e["final"]]
        assert int(row["utterances"]) == len(finals) > 0
        per_label = {label: float(row[f"{label}_s"]) for label in labels}
        assert float(row["speech_s"]) == pytest.approx(sum(e["end"] - e["start"] for e in finals), abs=0.02)
        assert sum(per_label.values()) == pytest.approx(float(row["speech_s"]), abs=0.02)
        assert row["shares"].startswith(max(per_label, key=per_label.get))
        assert 2.0 < float(row["audio_s"]) < 6.0
    assert rows[-1]["utterances"] == "0" and rows[-1]["shares"] == "-" and rows[-1]["audio_s"] == "1.00"


def test_analyze_uses_the_settings_file_and_options_override_it(clips, model_path, tmp_path):
    """analyze labels a file as listen and the app do, with the user's settings."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"confidence_threshold": 1.0}))
    r = run_cli("analyze", clips[0], "--config", str(cfg), "-f", "json", "--model", model_path)
    assert r.returncode == 0, r.stderr
    finals = [e for e in json.loads(r.stdout)[0]["events"] if e["type"] == "emotion"]
    assert finals and all(e["label"] == "uncertain" for e in finals)
    r = run_cli("analyze", clips[0], "--config", str(cfg), "--confidence", "0", "-f", "json", "--model", model_path)
    finals = [e for e in json.loads(r.stdout)[0]["events"] if e["type"] == "emotion"]
    assert finals and all(e["label"] == e["top_label"] != "uncertain" for e in finals)


def test_usage_errors():
    r = run_cli("analyze")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("frobnicate")
    assert r.returncode == 2


def test_listen_lines_round_a_confidence_down_as_the_app_does():
    """0.397 is uncertain at --confidence 0.4: its line must not say 0.40."""
    from realtime_ser.cli.listen import format_event
    from realtime_ser.pipeline.events import EmotionEvent

    probs = {"sad": 0.397, "neutral": 0.303, "happy": 0.3}
    line = format_event(EmotionEvent(3, 1.0, 2.5, "uncertain", "sad", 0.397, probs, True))
    assert line == "[    2.50] FINAL   #3 uncertain   0.39  (1.00-2.50 s)  (top sad)"
    line = format_event(EmotionEvent(4, 3.0, 4.0, "sad", "sad", 0.58 - 1e-12, probs, False))  # 0.58, as stored
    assert line == "[    4.00] partial #4 sad         0.58  (3.00-4.00 s)"


def test_version_is_the_package_version():
    from realtime_ser import __version__

    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"realtime-ser {__version__}", r


# -- markers ----------------------------------------------------------------------------------


def test_listen_lines_on_stdin_become_markers_in_output_and_session(clips, model_path, tmp_path):
    from realtime_ser.session import Session

    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_ser", "listen", "--replay", clips[0], "--output", str(out),
         "--record", str(tmp_path / "sessions"), "--model", model_path, "--notes-from-stdin"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        started = []
        for line in proc.stderr:  # type while the replay runs, not before the stream starts
            started.append(line)
            if line.startswith("listening on"):
                break
        assert "type a note" not in "".join(started)  # the hint is for a terminal only
        time.sleep(0.5)
        proc.stdin.write("  first note \n")
        proc.stdin.flush()
        time.sleep(0.5)
        # then EOF (communicate closes stdin): markers stop, listening goes on to the end of the clip
        stdout, stderr = proc.communicate("\n", timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "markers: 2" in stderr
    printed = [l for l in stdout.splitlines() if "marker" in l]
    assert len(printed) == 2, stdout
    assert printed[0].endswith("] marker 1: first note") and printed[1].endswith("] marker 2"), printed
    assert "FINAL" in stdout  # the results are still there

    written = [json.loads(l) for l in out.read_text().splitlines()]
    markers = [e for e in written if e["type"] == "marker"]
    assert [(m["marker_id"], m["note"]) for m in markers] == [(1, "first note"), (2, "")]
    (folder,) = (tmp_path / "sessions").iterdir()
    session = Session.open(folder)
    assert session.status == "complete" and not session.warnings
    assert [(m.marker_id, m.note) for m in session.markers] == [(1, "first note"), (2, "")]
    times = [m.time for m in session.markers]
    assert 0 <= times[0] <= times[1] <= session.duration and times[1] > 0, times
    assert times == [pytest.approx(m["time"], abs=1e-3) for m in markers]  # the replay starts at 0


def test_listen_with_nothing_on_stdin_is_unchanged(clips, model_path, tmp_path):
    out = tmp_path / "events.jsonl"
    with open(os.devnull) as devnull:
        r = run_cli("listen", "--replay", clips[0], "--speed", "4", "--output", str(out), "--model", model_path,
                    "--notes-from-stdin", stdin=devnull, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "FINAL" in r.stdout and "marker" not in r.stdout
    assert "markers" not in r.stderr and "type a note" not in r.stderr and "Traceback" not in r.stderr
    assert [json.loads(l)["type"] for l in out.read_text().splitlines()].count("marker") == 0


def test_listen_leaves_piped_stdin_alone_unless_asked(clips, model_path, tmp_path):
    # a script's loop input (`while read f; do realtime-ser listen ...; done < list`) is not notes
    r = run_cli("listen", "--replay", clips[0], "--speed", "4", "--model", model_path,
                input="next-file.wav\n", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "FINAL" in r.stdout and "marker" not in r.stdout and "markers" not in r.stderr


def test_listen_on_a_terminal_says_how_to_mark(clips, model_path, tmp_path):
    import pty

    from realtime_ser.session.file_marks import load_marks

    master, slave = pty.openpty()  # a terminal as stdin (not the controlling one: no job control)
    store = tmp_path / "data" / "realtime-ser" / "file-marks"  # where the marks of a plain file are kept
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "realtime_ser", "listen", "--replay", clips[0], "--model", model_path],
            cwd=REPO, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=cli_env(XDG_DATA_HOME=str(tmp_path / "data")),
        )
        started = []
        for line in proc.stderr:
            started.append(line)
            if line.startswith("listening on"):
                break
        assert "(type a note + Enter to mark a moment, kept for this file; Ctrl-C to stop)" in started[-1], started
        os.write(master, "on a terminal\n".encode())
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, stderr
    assert "] marker 1: on a terminal" in stdout and "markers: 1" in stderr
    assert [m.note for m in load_marks(store, clips[0]).markers] == ["on a terminal"]


DEMO = REPO / "assets" / "demo" / "demo-session.flac"


def _record_session(parent, markers, block=1600):
    """A session of the demo audio (six utterances) with ``markers`` written among its audio."""
    from realtime_ser.audio.io import load_audio
    from realtime_ser.session import SessionRecorder

    audio = load_audio(DEMO, 16000)
    rec = SessionRecorder(parent, 16000, "test")
    folder = rec.start()
    for start in range(0, audio.size, block):
        rec.write_audio(audio[start : start + block], start / 16000)
    for marker in markers:
        rec.write_event(marker)
    rec.stop()
    assert rec.error is None
    return folder


def test_listen_replays_a_sessions_markers_at_their_moments(model_path, tmp_path):
    """``listen --replay SESSION`` prints the session's markers as the replay reaches them (as the app
    shows them), counts them, and numbers a note typed meanwhile after them; --duration stops short
    of the later ones."""
    from realtime_ser.pipeline.events import MarkerEvent

    folder = _record_session(tmp_path / "sessions", [MarkerEvent(4, 11.5, "mother"), MarkerEvent(2, 2.25)])
    r = run_cli("listen", "--replay", str(folder), "--speed", "8", "--notes-from-stdin", "--model", model_path,
                input="typed\n", timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    printed = [line for line in lines if "] marker " in line]
    assert [line.split("] ")[1] for line in printed] == ["marker 5: typed", "marker 2", "marker 4: mother"]
    times = [float(line[1:].split("]")[0]) for line in printed[1:]]
    assert 2.25 <= times[0] < 3.5 and 11.5 <= times[1] < 12.8  # at their moments, not at the start
    finals = [float(line[1:].split("]")[0]) for line in lines if "FINAL" in line]
    assert any(t < 11.5 for t in finals) and any(t > 11.5 for t in finals)  # in the timeline's order
    assert lines.index(printed[2]) > lines.index(next(l for l in lines if "FINAL" in l))
    assert "markers: 3" in r.stderr
    # the typed marker is an annotation of the session, saved in it (as the app saves one): not lost
    from realtime_ser.session import Session

    typed_at = float(printed[0][1:].split("]")[0])
    saved = {m.marker_id: m for m in Session.open(folder).markers}
    assert sorted(saved) == [2, 4, 5] and saved[5].note == "typed"
    assert saved[5].time == pytest.approx(typed_at, abs=0.01)
    short = run_cli("listen", "--replay", str(folder), "--speed", "8", "--duration", "5", "--model", model_path)
    shown = sorted(l.split("] ")[1] for l in short.stdout.splitlines() if "] marker " in l)
    assert short.returncode == 0 and shown == ["marker 2"] + (["marker 5: typed"] if typed_at < 5 else [])


def test_analyze_puts_a_sessions_markers_in_its_timeline(clips, model_path, tmp_path):
    import csv

    from realtime_ser.pipeline.events import MarkerEvent

    written = [  # out of order, as a file may hold them; one note needs CSV quoting
        MarkerEvent(2, 11.5, "client mentions her mother"), MarkerEvent(1, 2.25), MarkerEvent(3, 20.0, 'a, "b"')]
    folder = _record_session(tmp_path / "sessions", written)
    with open(folder / "events.jsonl", "a") as f:  # a damaged line must not cost the other markers
        f.write('{"type": "marker", "marker_id": "x", "time": 3}\nnot json\n')
    expected = [m.to_dict() for m in sorted(written, key=lambda m: m.time)]

    r = run_cli("analyze", str(folder), "-f", "json", "--model", model_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == (f"realtime-ser: warning: {folder / 'events.jsonl'}: skipped 2 malformed event "
                                f"line(s) (line {len(written) + 1}, {len(written) + 2})")  # said, not fatal
    (entry,) = json.loads(r.stdout)
    events = entry["events"]
    assert [e for e in events if e["type"] == "marker"] == expected
    assert sum(e["type"] == "emotion" for e in events) == 6
    when = [e.get("time", e.get("end")) for e in events]
    assert when == sorted(when)  # each marker sits where it happened among the results

    r = run_cli("analyze", str(folder), "-f", "jsonl", "--model", model_path)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert all(l["file"] == str(folder) for l in lines)
    assert [(l["type"], l.get("time", l.get("end"))) for l in lines] == [(e["type"], t) for e, t in zip(events, when)]
    assert [l for l in lines if l["type"] == "marker"] == [{"file": str(folder), **m} for m in expected]

    r = run_cli("analyze", str(folder), clips[0], "--model", model_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(r.stdout.splitlines()))
    header = rows[0]
    assert header[:8] == ["file", "utterance_id", "start", "end", "label", "top_label", "confidence", "final"]
    assert header[-1] == "note" and all(len(row) == len(header) for row in rows)
    session_rows = [dict(zip(header, row)) for row in rows[1:] if row[0] == str(folder)]
    marker_rows = [row for row in session_rows if row["label"] == "marker"]
    assert [(row["start"], row["end"], row["note"]) for row in marker_rows] == [
        ("2.250", "2.250", ""), ("11.500", "11.500", "client mentions her mother"), ("20.000", "20.000", 'a, "b"')]
    for row in marker_rows:
        assert all(row[k] == "" for k in header if k not in ("file", "start", "end", "label", "note")), row
    assert len(session_rows) == 9 and all(row["note"] == "" for row in session_rows if row["label"] != "marker")
    ends = [float(row["end"]) for row in session_rows]
    assert ends == sorted(ends)  # time order: a result counts at its end, as it did live
    plain_rows = [dict(zip(header, row)) for row in rows[1:] if row[0] == clips[0]]
    assert len(plain_rows) == 1 and plain_rows[0]["note"] == "" and plain_rows[0]["label"] != "marker"


def test_analyze_a_session_without_an_event_log(model_path, tmp_path):
    folder = _record_session(tmp_path / "sessions", [])
    (folder / "events.jsonl").unlink()
    r = run_cli("analyze", str(folder), "--model", model_path)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows[0].endswith(",note") and len(rows) == 7 and all(row.endswith(",") for row in rows[1:])


# -- sessions ---------------------------------------------------------------------------------


def test_sessions_lists_recorded_sessions_and_reports_a_broken_one(model, model_path, tmp_path):
    from realtime_ser.pipeline.events import EmotionEvent, MarkerEvent
    from realtime_ser.pipeline.summary import describe_shares
    from realtime_ser.pipeline.worker import analyze_file

    parent = tmp_path / "sessions"
    results = analyze_file(DEMO, model)  # what a live session of the demo audio would have recorded
    finals = [e for e in results if isinstance(e, EmotionEvent) and e.final]
    with_results = _record_session(parent, list(results) + [MarkerEvent(1, 3.0), MarkerEvent(2, 9.0, "x")])
    broken = parent / "2099-01-01T00-00-00_session"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")

    r = run_cli("sessions", str(parent), "-f", "json")
    assert r.returncode == 1  # like analyze: the readable ones are listed, the broken one is an error line
    (error,) = r.stderr.strip().splitlines()
    assert error.startswith(f"realtime-ser: error: {broken / 'manifest.json'}")
    (row,) = json.loads(r.stdout)
    assert row["folder"] == str(with_results) and row["status"] == "complete"
    assert (row["utterances"], row["markers"]) == (len(finals), 2) and len(finals) >= 4
    assert row["duration_s"] == pytest.approx(24.8, abs=0.2)
    assert row["emotions"] == describe_shares(finals) and row["emotions"].count("%") == 3
    # the seconds for programs are those of `analyze --format summary` on the same session
    summary = next(csv.DictReader(io.StringIO(run_cli("analyze", str(with_results), "-f", "summary").stdout)))
    assert row["speech_s"] == pytest.approx(float(summary["speech_s"]), abs=0.011) and row["speech_s"] > 5
    assert row["label_s"] and list(row["label_s"].values()) == sorted(row["label_s"].values(), reverse=True)
    for label in set(row["label_s"]) | {k[:-2] for k, v in summary.items() if k.endswith("_s") and float(v) > 0}:
        if label not in ("audio", "speech"):
            assert row["label_s"].get(label, 0.0) == pytest.approx(float(summary[f"{label}_s"]), abs=0.011), label

    shutil.rmtree(broken)
    r = run_cli("sessions", str(parent))
    assert r.returncode == 0, r.stderr
    header, line = r.stdout.splitlines()
    assert header.split()[:5] == ["started", "length", "status", "utt", "marks"]
    assert line.split()[2:7] == ["0:24", "complete", str(len(finals)), "2", with_results.name]
    assert line.endswith(describe_shares(finals))
    r = run_cli("sessions", str(with_results))  # a session folder itself: its own row, not "no sessions"
    assert r.returncode == 0 and r.stderr == "" and r.stdout.splitlines() == [header, line]


def test_sessions_of_a_missing_folder(tmp_path):
    r = run_cli("sessions", str(tmp_path / "nowhere"))
    assert r.returncode == 1 and r.stderr.strip() == f"realtime-ser: error: {tmp_path / 'nowhere'}: no such folder"
    (tmp_path / "notes.txt").write_text("x")
    r = run_cli("sessions", str(tmp_path / "notes.txt"))
    assert r.returncode == 1 and r.stderr.strip() == f"realtime-ser: error: {tmp_path / 'notes.txt'}: not a folder"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"session_dir": str(tmp_path / "not yet")}))
    r = run_cli("sessions", "--config", str(config))  # the configured folder: nothing recorded yet is no error
    assert r.returncode == 0 and "no sessions recorded yet" in r.stderr and r.stdout == ""


def test_every_command_explains_itself_with_examples_that_parse():
    """Each --help has a description and examples; every example is a command line the parser takes
    (an option renamed or removed would make the examples lie)."""
    import shlex

    from realtime_ser.cli.parser import EPILOGS, build_parser

    for command in ("devices", "listen", "analyze", "sessions"):
        r = run_cli(command, "--help")
        assert r.returncode == 0 and r.stderr == ""
        description = r.stdout.split("\n\n")[1]
        assert len(description) > 40 and not description.startswith(("options:", "positional")), command
        assert "examples:" in r.stdout
    examples = [line.split("  ")[1] if line.startswith("  ") else line
                for text in EPILOGS.values() for line in text.splitlines()[1:]]
    assert len(examples) >= 12
    for example in examples:
        words = shlex.split(example.strip().split("   ")[0])  # the command, without its comment
        assert words[0] == "realtime-ser", example
        if "--help" in words or "COMMAND" in words:
            continue
        build_parser().parse_args(words[1:])  # a usage error would exit 2 here


def test_an_output_that_names_an_input_is_refused_and_the_recording_kept(clips, model_path, tmp_path):
    """The timeline was written over the recording it came from (``analyze talk.flac -o talk.flac``),
    or over a session's own event log; ``listen --replay X -o X`` emptied X first."""
    from realtime_ser.pipeline.events import MarkerEvent

    talk = tmp_path / "talk.flac"
    shutil.copy(clips[0], talk)
    before = talk.read_bytes()
    folder = _record_session(tmp_path / "sessions", [MarkerEvent(1, 2.0, "kept")])
    log = folder / "events.jsonl"
    logged = log.read_bytes()
    for args in (["analyze", str(talk), "-o", str(talk)],
                 ["analyze", str(tmp_path), "-o", str(talk)],  # found in a folder
                 ["analyze", str(folder), "-o", str(log)],
                 ["listen", "--replay", str(talk), "-o", str(talk)],
                 ["listen", "--replay", str(folder), "-o", str(folder / "manifest.json")]):
        r = run_cli(*args, "--model", model_path)
        (line,) = assert_one_line_errors(r.stderr, 1, warnings=int(args[-1].endswith(".json")))
        assert r.returncode == 2 and "would replace" in line and "name another file" in line, line
    assert talk.read_bytes() == before and log.read_bytes() == logged
    r = run_cli("analyze", str(folder), "-o", str(folder / "timeline.csv"), "--model", model_path)
    assert r.returncode == 0, r.stderr  # a new file beside them replaces nothing


def test_listen_keeps_an_earlier_output_until_it_has_something_to_write(clips, model_path, tmp_path):
    """A run that fails to start (a missing file, no microphone) left the earlier --output emptied."""
    out = tmp_path / "events.jsonl"
    out.write_text('{"earlier": 1}\n')
    env = no_audio_server_env(tmp_path)
    for args in (["--replay", str(tmp_path / "missing.flac")], ["--device", "7"], []):
        r = run_cli("listen", *args, "--duration", "1", "-o", str(out), "--model", model_path, env=env)
        assert r.returncode == 1 and len(assert_one_line_errors(r.stderr, 1)) == 1
        assert out.read_text() == '{"earlier": 1}\n'
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "-o", str(out), "--model", model_path)
    assert r.returncode == 0 and '"earlier"' not in out.read_text() and '"final": true' in out.read_text()
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(16000, np.float32), 16000)
    r = run_cli("listen", "--replay", str(silence), "--speed", "8", "-o", str(out), "--model", model_path)
    assert r.returncode == 0 and [json.loads(l)["type"] for l in out.read_text().splitlines()] == ["status"]


def test_listen_exits_1_when_its_output_or_recording_stopped_on_an_error(clips, model_path, tmp_path):
    """Listening goes on past a full disk, but a script must be able to tell the file is incomplete."""
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "-o", "/dev/full", "--model", model_path)
    errors = [line for line in r.stderr.splitlines() if line.startswith("realtime-ser: error:")]
    assert errors == ["realtime-ser: error: /dev/full: writing stopped (No space left on device)"], r.stderr
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "FINAL" in r.stdout  # the results were still printed


def test_a_recording_whose_input_failed_is_stopped_not_complete(clips, model_path, tmp_path):
    """A replay cut short by a corrupt file: the session keeps what came before it, marked stopped."""
    from realtime_ser.session import Session

    audio, rate = sf.read(clips[0])
    cut = tmp_path / "cut.flac"
    sf.write(cut, np.tile(audio, 3), rate)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    r = run_cli("listen", "--replay", str(cut), "--speed", "8", "--record", str(tmp_path / "s"), "--model", model_path)
    assert r.returncode == 1 and "corrupt or truncated audio" in r.stderr.splitlines()[-1]
    (folder,) = (tmp_path / "s").iterdir()
    session = Session.open(folder)
    assert session.status == "stopped" and "corrupt or truncated audio" in session.manifest["error"]
    assert session.duration > 1.0


def test_listen_does_not_record_into_a_session_or_print_its_markers_before_an_error(model_path, tmp_path):
    from realtime_ser.pipeline.events import MarkerEvent

    folder = _record_session(tmp_path / "sessions", [MarkerEvent(1, 0.0, "at the start")])
    r = run_cli("listen", "--replay", str(folder), "--record", str(folder), "--model", model_path)
    (line,) = assert_one_line_errors(r.stderr, 1)
    assert r.returncode == 1 and "is a recorded session; record into the folder that holds it" in line
    inside = folder / "more"  # deeper in one too: neither sessions nor analyze of the parent would find it
    r = run_cli("listen", "--replay", str(folder), "--record", str(inside), "--model", model_path)
    assert assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {inside}: is inside the recorded session {folder}; record into the folder that "
        f"holds it ({folder.parent})"] and r.returncode == 1
    assert sorted(p.name for p in folder.iterdir()) == ["audio.wav", "events.jsonl", "manifest.json"]
    # its manifest or event log, as a file dialog picks them, replays the session (as in the app)
    r = run_cli("listen", "--replay", str(folder / "manifest.json"), "--speed", "8", "--model", model_path)
    assert r.returncode == 0 and "] marker 1: at the start" in r.stdout and r.stdout.count("FINAL") == 6, r.stderr
    r = run_cli("listen", "--replay", str(folder), "--channel", "2", "--model", model_path)
    (line,) = assert_one_line_errors(r.stderr, 1)
    assert r.returncode == 1 and "there is no channel 2" in line and r.stdout == ""


def test_listen_closes_its_session_when_the_terminal_hangs_up(clips, model_path, tmp_path):
    """SIGHUP (the terminal or ssh connection closed) ends listen as Ctrl-C does: the session complete."""
    from realtime_ser.session import Session

    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--replay", str(DEMO), "--record",
                             str(tmp_path / "s"), "--model", model_path], cwd=REPO, env=cli_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((tmp_path / "s").glob("*/audio.wav")):
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "session saved" in stderr, stderr
    (folder,) = (tmp_path / "s").iterdir()
    assert Session.open(folder).status == "complete" and not (folder / ".recording.lock").exists()


def test_a_bad_session_folder_setting_stops_only_a_run_that_records(clips, model_path, tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"session_dir": 3}')
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "--config", str(config), "--model", model_path)
    (warning,) = [line for line in r.stderr.splitlines() if line.startswith("realtime-ser: ")]
    assert r.returncode == 0 and "Traceback" not in r.stderr and "--- summary ---" in r.stderr
    assert warning.startswith("realtime-ser: warning: ")
    assert warning.endswith("setting 'session_dir' must be a folder path or null, not 3; nothing is recorded "
                            "(a replay is recorded only with --record)")
    r = _listen_piped(clips[0], "--config", str(config), "--model", model_path)
    assert r.returncode == 0 and "setting 'session_dir' must be a folder path or null, not 3; nothing is recorded " \
                                 "(no --record, and record_sessions is off)" in r.stderr, r.stderr
    config.write_text('{"session_dir": 3, "record_sessions": true}')
    r = _listen_piped(clips[0], "--config", str(config), "--model", model_path)
    (line,) = assert_one_line_errors(r.stderr, 1)
    assert r.returncode == 1 and "setting 'session_dir' must be a folder path" in line
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "--config", str(config), "--model", model_path)
    assert r.returncode == 0 and "--- summary ---" in r.stderr  # record_sessions does not record a replay
    assert "setting 'session_dir' must be a folder path or null, not 3; nothing is recorded (a replay is " \
           "recorded only with --record)" in r.stderr


def _listen_piped(clip: str, *args: str) -> subprocess.CompletedProcess:
    """`listen --device -` with ``clip`` piped in as a WAV stream (a live input that is not a microphone)."""
    import io

    import soundfile as sf

    audio, rate = sf.read(clip, dtype="int16")
    wav = io.BytesIO()
    sf.write(wav, audio, rate, format="WAV", subtype="PCM_16")
    r = subprocess.run([sys.executable, "-m", "realtime_ser", "listen", "--device", "-", *args],
                       input=wav.getvalue(), capture_output=True, env=cli_env(), cwd=REPO, timeout=120)
    r.stdout, r.stderr = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


def test_record_sessions_records_live_inputs_and_not_replays(clips, model_path, tmp_path):
    """record_sessions (the app's "Record every listening session", which records each start of the
    microphone) recorded `listen --replay` too: every replay of a session folder left a copy of it."""
    from realtime_ser.session import Session

    sessions = tmp_path / "sessions"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"session_dir": str(sessions), "record_sessions": True}))
    settings = ("--config", str(config), "--model", model_path)
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", *settings)
    assert r.returncode == 0 and "session saved" not in r.stderr and not sessions.exists(), r.stderr
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "--title", "P07", *settings)
    assert r.returncode == 2 and "--title names a recorded session: use it with --record" in r.stderr
    r = run_cli("listen", "--replay", clips[0], "--speed", "8", "--record", "--title", "P07", *settings)
    assert r.returncode == 0 and [Session.open(f).title for f in sessions.iterdir()] == ["P07"], r.stderr
    r = _listen_piped(clips[0], *settings)  # a live input: recorded
    assert r.returncode == 0 and len(list(sessions.iterdir())) == 2 and "session saved" in r.stderr, r.stderr


def test_listen_does_not_call_a_session_saved_whose_folder_was_removed(model_path, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--replay", str(DEMO), "--speed", "2",
                             "--duration", "12", "--record", str(tmp_path / "s"), "--model", model_path],
                            cwd=REPO, env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((tmp_path / "s").glob("*/audio.wav")):
        time.sleep(0.1)
    time.sleep(1.0)
    shutil.rmtree(next((tmp_path / "s").iterdir()))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "recording stopped: session folder was removed" in stderr, stderr
    assert "session saved" not in stderr and "Traceback" not in stderr


def _workers_of(group: int) -> list[str]:
    """The worker processes (multiprocessing's spawned children) left in the process group ``group``."""
    found = []
    for pid in subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if "multiprocessing.spawn" in command:
            found.append(pid)
    return found


def _as_from_a_terminal() -> None:
    """In the child before it runs: signals as a terminal's shell gives them (default, none blocked).
    The test process's own may differ: a suite started in the background by a non-interactive shell
    (``cmd &`` in a script, or ``nohup``) starts with SIGINT ignored, every process it starts inherits
    that, and Python keeps ignoring a SIGINT it was started ignoring (so the child ran the whole batch
    and exited 0)."""
    wanted = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, wanted)
    for signum in wanted:
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGTERM, True)],
                         ids=["ctrl-c", "kill-parent", "kill-group"])
def test_a_parallel_batch_interrupted_ends_its_workers_and_says_one_line(sig, to_group, clips, model_path, tmp_path):
    """Ctrl-C (SIGINT to the terminal's whole process group) during a parallel batch printed the pool's
    "Exception ignored in: <function Pool.__del__ ...> ... Bad file descriptor" after the one line; SIGTERM
    to the parent left its worker processes running after it exited; SIGTERM to the whole group (as
    `timeout` and service managers send it) must not make ending the pool wait for ever either.

    The pool's message depended on the order of finalization at exit; the ResourceWarning Pool.__del__
    gives first for a pool never ended ("unclosed running multiprocessing pool") shows it every time."""
    from realtime_ser.audio.io import load_audio

    audio = (load_audio(clips[0], 16000) * 32767).astype(np.int16)
    batch = tmp_path / "batch"
    batch.mkdir()
    sf.write(tmp_path / "long.wav", np.tile(audio, 80), 16000, subtype="PCM_16")  # five minutes
    for i in range(120):  # inputs of their own (the same file twice is analysed once), a minute's work in all
        os.link(tmp_path / "long.wav", batch / f"{i:03}.wav")
    err_file = tmp_path / "stderr.txt"  # not a pipe: the workers hold it open too, and would be waited for
    with open(err_file, "w") as err_out:
        proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "analyze", str(batch), "--jobs", "2",
                                 "--model", model_path], stdout=subprocess.DEVNULL, stderr=err_out,
                                env=cli_env(PYTHONWARNINGS="always::ResourceWarning"), cwd=REPO,
                                start_new_session=True, preexec_fn=_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 60
        while len(_workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_workers_of(proc.pid)) == 2, "the workers never started"
        time.sleep(2.5)  # the workers load the model and take their first files
        assert proc.poll() is None, err_file.read_text()
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(timeout=60)
        left = _workers_of(proc.pid)  # as the command ends
    finally:
        proc.kill()
        proc.wait()
        for pid in _workers_of(proc.pid):
            os.kill(int(pid), signal.SIGKILL)
    assert left == []  # no worker outlives the run
    said = "interrupted" if sig == signal.SIGINT else f"interrupted ({signal.Signals(sig).name})"
    assert proc.returncode == 128 + sig, (proc.returncode, err_file.read_text())
    (line,) = assert_one_line_errors(err_file.read_text(), 1)
    # the files finished by then, if any, are written (to standard output here): the line says how many
    assert re.fullmatch(rf"realtime-ser: error: {re.escape(said)}( after \d+ of 120 inputs; their results written to "
                        r"standard output(, with \S+ up to \d+:\d\d\.\d"
                        r"|, with the 2 in progress up to where each had got)?)?",
                        line), line


def _interrupt_when(proc, err_file, said: str, then: float = 0.0, timeout: float = 60) -> str:
    """SIGINT to ``proc`` ``then`` seconds after its standard error (``err_file``) has said ``said`` (a regex);
    returns its standard error without the progress bar."""
    deadline = time.monotonic() + timeout
    while not re.search(said, err_file.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, err_file.read_text()
        time.sleep(0.05)
    assert re.search(said, err_file.read_text()), err_file.read_text()
    time.sleep(then)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    return "\n".join(l for l in err_file.read_text().splitlines() if not re.match(r"\s*(\d+%\||$)", l))


@pytest.fixture(scope="module")
def forty_minutes(clips, tmp_path_factory) -> str:
    """A 40-minute recording: the analysis takes seconds, so an interrupt lands inside it."""
    from realtime_ser.audio.io import load_audio

    path = tmp_path_factory.mktemp("long") / "long.wav"
    audio = (load_audio(clips[0], 16000) * 32767).astype(np.int16)
    sf.write(path, np.tile(audio, int(np.ceil(2400 * 16000 / audio.size))), 16000, subtype="PCM_16")
    return str(path)


def test_an_interrupted_batch_writes_what_it_found(clips, forty_minutes, model_path, tmp_path):
    """Ctrl-C near the end of a long batch threw every result away; now the inputs finished are written,
    with what the one being analysed had found, and the line says so (exit 130, as for Ctrl-C)."""
    silent = tmp_path / "silent.wav"  # its "no speech found" warning says when the batch reaches the long one
    sf.write(silent, np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    out, err_file = tmp_path / "out.json", tmp_path / "stderr.txt"
    with open(err_file, "w") as err_out:
        proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "analyze", clips[0], str(silent), forty_minutes,
                                 "--jobs", "1", "-o", str(out), "--model", model_path],
                                stdout=subprocess.DEVNULL, stderr=err_out, cwd=REPO, env=cli_env(),
                                preexec_fn=_as_from_a_terminal)
    try:
        text = _interrupt_when(proc, err_file, "warning: .*silent.wav: no speech found", then=1.0)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, text
    (line,) = assert_one_line_errors(text, 1, warnings=1)
    match = re.fullmatch(r"realtime-ser: error: interrupted after 2 of 3 inputs; their results written to "
                         rf"{re.escape(str(out))}, with {re.escape(forty_minutes)} up to (\d+):(\d\d\.\d)", line)
    assert match, line
    entries = json.loads(out.read_text())
    assert [e["file"] for e in entries] == [clips[0], str(silent), forty_minutes]
    assert {e["type"] for e in entries[0]["events"]} == {"speech", "emotion"} and "error" not in entries[0]
    assert [e["type"] for e in entries[1]["events"]] == ["status"] and "error" not in entries[1]
    assert entries[2]["error"] == f"{forty_minutes}: interrupted at {match[1]}:{match[2]} of its audio"
    found = [e for e in entries[2]["events"] if e["type"] == "emotion"]  # what it had found before Ctrl-C
    # (an utterance the interrupt cut ends there, within the tenth of a second the line rounds to)
    assert found and max(e["end"] for e in found) <= int(match[1]) * 60 + float(match[2]) + 0.05


def _cpu_seconds(pid: str) -> float:
    """User and system CPU time a process has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: ``python -c`` that runs the command line with no time for the workers to hand their results back:
#: the pool is ended while they are still analysing (as when one is stuck).
NO_HAND_BACK = ("import sys, realtime_ser.cli.analyze as a; a.HAND_BACK_SECONDS = 0.0; "
                "from realtime_ser.cli import main; sys.exit(main(sys.argv[1:]))")


@contextmanager
def _busy_parallel_batch(forty_minutes, model_path, tmp_path, python_args=("-m", "realtime_ser")):
    """``analyze`` of four 40-minute files with two worker processes, each well into its first file
    (CPU time, not wall time: a loaded machine only makes it later); yields ``(proc, batch, out,
    stderr file, worker pids)``, and ends whatever is left of the run afterwards."""
    batch = tmp_path / "batch"
    batch.mkdir()
    for i in range(4):  # inputs of their own: each takes a worker several seconds of CPU
        os.link(forty_minutes, batch / f"{i}.wav")
    out, err_file = tmp_path / "out.json", tmp_path / "stderr.txt"
    with open(err_file, "w") as err_out:
        proc = subprocess.Popen([sys.executable, *python_args, "analyze", str(batch), "--jobs", "2", "-o",
                                 str(out), "--model", model_path], stdout=subprocess.DEVNULL, stderr=err_out,
                                cwd=REPO, env=cli_env(), start_new_session=True, preexec_fn=_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            workers = _workers_of(proc.pid)
            if len(workers) == 2 and min(_cpu_seconds(pid) for pid in workers) > 3.0:
                break
            assert proc.poll() is None, err_file.read_text()
            time.sleep(0.1)
        assert proc.poll() is None, err_file.read_text()
        yield proc, batch, out, err_file, workers
    finally:
        proc.kill()
        proc.wait()
        for pid in _workers_of(proc.pid):
            os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGTERM, True)],
                         ids=["ctrl-c", "kill-parent", "kill-group"])
def test_an_interrupted_parallel_batch_keeps_what_its_workers_had_found(sig, to_group, forty_minutes, model_path,
                                                                        tmp_path):
    """In a parallel batch, an interrupt threw away what the worker processes had found in the files
    they were analysing (marked "not analysed"), where a serial run kept the file in progress.  Now each
    worker stops at its next block and hands its file's results back, whether the signal reached the
    parent alone or the whole process group (`timeout`, service managers: the workers get SIGTERM too)."""
    with _busy_parallel_batch(forty_minutes, model_path, tmp_path) as (proc, batch, out, err_file, _):
        (os.killpg if to_group else os.kill)(proc.pid, sig)
        proc.wait(timeout=60)
        left = _workers_of(proc.pid)
    assert left == []
    assert proc.returncode == 128 + sig, (proc.returncode, err_file.read_text())
    said = "interrupted" if sig == signal.SIGINT else f"interrupted ({signal.Signals(sig).name})"
    (line,) = assert_one_line_errors(err_file.read_text(), 1)
    assert line == (f"realtime-ser: error: {said} after 0 of 4 inputs; their results written to {out}, "
                    "with the 2 in progress up to where each had got"), line
    entries = json.loads(out.read_text())
    assert [e["file"] for e in entries] == [str(batch / f"{i}.wav") for i in range(4)]
    cut = [e for e in entries if "interrupted at" in e["error"]]
    assert len(cut) == 2
    for entry in cut:
        match = re.fullmatch(rf"{re.escape(entry['file'])}: interrupted at (\d+):(\d\d\.\d) of its audio",
                             entry["error"])
        found = [e for e in entry["events"] if e["type"] == "emotion"]
        assert match and found, entry["error"]
        assert max(e["end"] for e in found) <= int(match[1]) * 60 + float(match[2]) + 0.05
    assert [e["error"] for e in entries if e not in cut] == [
        f"{e['file']}: not analysed (the run was interrupted)" for e in entries if e not in cut]


@pytest.mark.parametrize("to_group", [False, True], ids=["kill-parent", "kill-group"])
def test_a_pool_ended_while_its_workers_analyse_does_not_wait_for_ever(to_group, forty_minutes, model_path,
                                                                         tmp_path):
    """A worker put off the SIGTERM that came in the middle of a file (to hand that file's results back)
    and dropped it: when the parent ended the pool before the worker had stopped, Pool.terminate waited
    for that worker for ever (seen once in the suite).  The signal is now sent again a second later."""
    with _busy_parallel_batch(forty_minutes, model_path, tmp_path, ("-c", NO_HAND_BACK)) as (proc, _, _, err_file, _):
        (os.killpg if to_group else os.kill)(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        left = _workers_of(proc.pid)
    assert left == [] and proc.returncode == 128 + signal.SIGTERM, err_file.read_text()
    assert assert_one_line_errors(err_file.read_text(), 1)[0].startswith("realtime-ser: error: interrupted (SIGTERM)")


def test_a_worker_terminated_alone_fails_its_files_and_the_batch_finishes(forty_minutes, model_path, tmp_path):
    """SIGTERM to one worker process (not the parent) ended it with its file: the pool never got that
    file's result back and the parent waited for ever.  Now the worker hands back what it found and
    refuses the files after it; the batch finishes with those marked, and exits 1."""
    with _busy_parallel_batch(forty_minutes, model_path, tmp_path) as (proc, batch, out, err_file, workers):
        os.kill(int(workers[0]), signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 1, err_file.read_text()
    entries = json.loads(out.read_text())
    cut = [e for e in entries if "interrupted at" in e.get("error", "")]
    done = [e for e in entries if "error" not in e]
    assert len(cut) == 1 and [e["type"] for e in cut[0]["events"]].count("emotion") > 10
    assert cut[0]["error"].endswith(" of its audio (its worker process was terminated)")
    assert done, "the other worker's file was not finished"
    skipped = [e for e in entries if e not in cut and e not in done]
    assert [e["error"] for e in skipped] == [f"{e['file']}: not analysed (its worker process was terminated)"
                                             for e in skipped]
    lines = assert_one_line_errors(err_file.read_text(), len(cut) + len(skipped) + 1)  # one per file, then the count
    assert sorted(lines[:-1]) == sorted(f"realtime-ser: error: {e['error']}" for e in cut + skipped)
    assert lines[-1] == f"realtime-ser: error: {len(cut) + len(skipped)} of 4 inputs failed"


def test_an_interrupted_recording_writes_its_results_up_to_there(forty_minutes, model_path, tmp_path):
    """One long recording interrupted: its results up to the interrupt are written (in place of an
    earlier output, as a finished run's would be)."""
    out, err_file = tmp_path / "out.csv", tmp_path / "stderr.txt"
    out.write_text("earlier results\n")
    with open(err_file, "w") as err_out:
        proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "analyze", forty_minutes, "--progress", "on",
                                 "-o", str(out), "--model", model_path], stdout=subprocess.DEVNULL, stderr=err_out,
                                cwd=REPO, env=cli_env(), preexec_fn=_as_from_a_terminal)
    try:
        text = _interrupt_when(proc, err_file, r"\b([6-9]\d|\d{3,})/\d+ s of audio")  # a minute or more analysed
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, text
    (line,) = assert_one_line_errors(text, 1)
    match = re.fullmatch(rf"realtime-ser: error: interrupted at (\d+):(\d\d\.\d) of the audio; the results up to "
                         rf"there written to {re.escape(str(out))}", line)
    assert match and int(match[1]) * 60 + float(match[2]) >= 60, line
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) >= 10 and all(r["file"] == forty_minutes for r in rows)


def test_listen_called_from_python_gives_back_the_callers_signal_handlers(tmp_path, capsys):
    """main(["listen", ...]) in a program of one's own took over SIGTERM and SIGHUP for good (only
    SIGINT's handler came back): the caller's own SIGTERM handling was gone after the call."""
    from realtime_ser.cli import main

    def own(signum, frame):
        pass

    stopping = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    previous = {signum: signal.signal(signum, own) for signum in stopping}
    try:
        code = main(["listen", "--replay", str(REPO / "assets" / "demo" / "demo-session.flac"),
                     "--speed", "20", "--duration", "2", "--output", str(tmp_path / "events.jsonl")])
        after = {signum: signal.getsignal(signum) for signum in stopping}
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "events.jsonl").exists()
    assert after == {signum: own for signum in stopping}
