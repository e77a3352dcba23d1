"""`python main.py` as a user runs it (a subprocess, offscreen)."""

import json
import os
import subprocess
import sys

from .conftest import CLIPS, REPO


def run_main(*args, tmp_path, timeout=120, env=None):
    env = dict(env or os.environ, REALTIME_SER_CONFIG_DIR=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen",
               REALTIME_SER_LOG_DIR=str(tmp_path / "log"))
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_options_and_shortcuts(tmp_path):
    proc = run_main("--help", tmp_path=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps the lines
    for option in ("--device", "--replay", "--model", "--demo", "Space start / stop listening", "Ctrl+M mark the moment",
                   "Ctrl+Q quit"):
        assert option in text


def test_help_names_the_installed_command_however_the_app_is_started(tmp_path):
    """``python -m realtime_ser.gui --help`` said "usage: __main__.py", main.py "usage: main.py"."""
    env = dict(os.environ, REALTIME_SER_CONFIG_DIR=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen")
    for start in (["-m", "realtime_ser.gui"], ["main.py"]):
        proc = subprocess.run([sys.executable, *start, "--help"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: realtime-ser-gui [-h]"), (start, proc.stdout)
        bad = subprocess.run([sys.executable, *start, "--no-such-option"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=60)
        assert bad.returncode == 2 and "__main__.py" not in bad.stderr and "main.py" not in bad.stderr
        assert bad.stderr.splitlines()[-1].startswith("realtime-ser-gui: error: unrecognized arguments: --no-such-option")


def test_help_to_a_full_stdout_is_one_line_error(tmp_path):
    env = dict(os.environ, REALTIME_SER_CONFIG_DIR=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen")
    with open("/dev/full", "w") as full:  # a disk that is full; argparse used to ignore it and exit 0
        proc = subprocess.run([sys.executable, "main.py", "--help"], cwd=REPO, env=env, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == ["realtime-ser: error: cannot write output: No space left on device"]


def test_bad_inputs_give_one_line_errors(tmp_path):
    proc = run_main("--replay", str(tmp_path / "missing.wav"), tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"realtime-ser: error: {tmp_path / 'missing.wav'}: no such file"
    assert "Traceback" not in proc.stderr
    bad_model = tmp_path / "model.tflite"
    bad_model.write_bytes(b"garbage" * 100)
    proc = run_main("--model", str(bad_model), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"realtime-ser: error: {bad_model}:")


def test_missing_microphone_runs_the_demo_and_quits_cleanly(tmp_path):
    proc = run_main("--device", "no-such-microphone-xyz", "--quit-after", "4", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Fatal" not in proc.stderr
    assert (tmp_path / "config" / "gui.ini").is_file()  # settings were saved on quit


def test_a_hung_audio_server_gives_the_demo_not_a_frozen_window(tmp_path, hung_pulse):
    """A wedged PulseAudio/PipeWire never answers: the window never came up (PortAudio's start
    waited for ever). Now the microphone fails in one line after the timeout and the demo plays."""
    proc = run_main("--quit-after", "3", tmp_path=tmp_path, env=hung_pulse, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    log = (tmp_path / "log" / "realtime-ser.log").read_text()
    assert "no microphone: the sound system did not answer within 2 s" in log


def test_replay_option_runs_a_file(tmp_path):
    proc = run_main("--replay", str(CLIPS / "ANG.wav"), "--quit-after", "3", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"last_dir={CLIPS}" in (tmp_path / "config" / "gui.ini").read_text()  # remembered folder
    started = (tmp_path / "log" / "realtime-ser.log").read_text()  # the app's log file, for bug reports
    assert "realtime-ser-gui " in started and " started (Python " in started and "Traceback" not in started


def test_replay_option_takes_a_session_by_its_folder_or_manifest_and_refuses_other_folders(tmp_path):
    """What the Open dialog lets a user pick, the command line takes too; a folder that is not a
    session is a one-line error before any window opens, as a bad file is."""
    from realtime_ser.audio.io import load_audio
    from realtime_ser.session.recorder import SessionRecorder

    recorder = SessionRecorder(tmp_path / "sessions", 16000, "test")
    folder = recorder.start()
    recorder.write_audio(load_audio(CLIPS / "SAD.wav", 16000), 0.0)
    recorder.stop()
    proc = run_main("--replay", str(folder / "manifest.json"), "--quit-after", "2", tmp_path=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    proc = run_main("--replay", str(CLIPS), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"realtime-ser: error: {CLIPS}: not a session folder")


def test_no_display_is_a_one_line_error_not_a_core_dump(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["REALTIME_SER_CONFIG_DIR"] = str(tmp_path / "config")
    proc = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("realtime-ser: error: no display found") and "realtime-ser listen" in last


def test_settings_file_is_read_and_its_problems_do_not_stop_the_app(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text('{"confidence_threshold": 2, "smoothnes": 0.5}')
    proc = run_main("--replay", str(CLIPS / "ANG.wav"), "--quit-after", "2", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if l.startswith("realtime-ser: warning:")]
    assert len(warnings) == 2 and "'confidence_threshold'" in warnings[0] and "did you mean 'smoothing'" in warnings[1]
    (config_dir / "config.json").write_text('{"confidence_threshold": ')  # broken: defaults, and say so
    proc = run_main("--replay", str(CLIPS / "ANG.wav"), "--quit-after", "2", tmp_path=tmp_path)
    assert proc.returncode == 0 and "not valid JSON" in proc.stderr and "using the default settings" in proc.stderr
    # A model the settings name that does not load: the bundled one, and the warning names the file to fix
    # (the app stopped with exit 2, where a settings problem never stops it).
    (config_dir / "config.json").write_text(json.dumps({"model_path": str(tmp_path / "gone.tflite")}))
    proc = run_main("--replay", str(CLIPS / "ANG.wav"), "--quit-after", "2", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [l for l in proc.stderr.splitlines() if l.startswith("realtime-ser: ")] == [
        f"realtime-ser: warning: {tmp_path / 'gone.tflite'}: model file not found (model_path in "
        f"{config_dir / 'config.json'}); using the bundled model"]
    # A file named on the command line must exist: a one-line error, as in the command line tools.
    proc = run_main("--config", str(tmp_path / "missing.json"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"realtime-ser: error: {tmp_path / 'missing.json'}: config file not found"]
