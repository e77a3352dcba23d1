"""Shared fixtures: the corpora, the bundled model, and a private PulseAudio "virtual microphone".

The virtual microphone is a real PulseAudio daemon started for the test session:
a null sink (``vsink``) that test clips are played into with ``paplay``, and a
virtual source (``vmic``, the default source) over the sink's monitor.  PortAudio
reaches it through ALSA's ``pulse`` device.  An idle null sink renders in 2-second
blocks, so the daemon also feeds the sink silence (``module-null-source`` ->
``module-loopback``, 20 ms) and the sink is suspended and resumed once: after that
it behaves like a live microphone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests (and the CLI/GUI subprocesses they start) must never read or write the
# developer's own settings or session folders.
os.environ["REALTIME_SER_CONFIG_DIR"] = tempfile.mkdtemp(prefix="realtime-ser-test-config-")
atexit.register(shutil.rmtree, os.environ["REALTIME_SER_CONFIG_DIR"], True)  # every run left one in /tmp
# ... nor into their data folder (the default session folder, the marks kept for plain files:
# realtime_ser/session/file_marks.py).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="realtime-ser-test-data-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], True)
# ... nor write into their log folder (the app's log file, realtime_ser/log_file.py).
os.environ["REALTIME_SER_LOG_DIR"] = tempfile.mkdtemp(prefix="realtime-ser-test-log-")
atexit.register(shutil.rmtree, os.environ["REALTIME_SER_LOG_DIR"], True)

# A machine without a desktop session (CI: root, no XDG_RUNTIME_DIR) gets a runtime folder of the test
# run's own, set before anything loads libpulse (PortAudio's ALSA pulse plugin, at import): without
# one, libpulse makes a /tmp/pulse-* folder and leaves it behind.
if not os.environ.get("XDG_RUNTIME_DIR"):
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="realtime-ser-test-run-")
    atexit.register(shutil.rmtree, os.environ["XDG_RUNTIME_DIR"], True)


_GUARDED_SIGNALS = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


def _signal_state() -> tuple:
    handlers = tuple(signal.getsignal(s) for s in _GUARDED_SIGNALS)
    mask = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, [])) if hasattr(signal, "pthread_sigmask") else None
    return handlers, mask


@pytest.fixture(autouse=True)
def _signals_left_as_found():
    """Every test leaves the test process's Ctrl-C/SIGTERM/SIGHUP handlers and its signal mask as it found
    them: processes the later tests start inherit an ignored or blocked signal (a CLI or GUI entry point
    run in-process that did not restore its handlers would break the interrupt tests that follow)."""
    before = _signal_state()
    yield
    assert _signal_state() == before, "the test changed the test process's signal handlers or signal mask"


def data_dir() -> Path:
    env = os.environ.get("REALTIME_SER_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    d = data_dir()
    assert (d / "ravdess").is_dir(), f"corpora not found in {d} (set REALTIME_SER_DATA)"
    return d


def ravdess_clips(step: int = 1) -> list[Path]:
    return sorted((data_dir() / "ravdess").glob("Actor_*/*.*"))[::step]


@pytest.fixture(scope="session")
def model():
    """The bundled model (models/ser_int8.tflite), loaded once through the real LiteRT runtime."""
    from realtime_ser.model.emotion_model import EmotionModel

    return EmotionModel.load(os.environ.get("REALTIME_SER_TEST_MODEL") or None)


@pytest.fixture(scope="session")
def model_path() -> str:
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH

    return os.environ.get("REALTIME_SER_TEST_MODEL") or str(DEFAULT_MODEL_PATH)


def cli_env(**extra: str) -> dict:
    """Environment for running the CLI in a subprocess (model override passed through)."""
    env = dict(os.environ)
    env.update(extra)
    return env


def no_audio_server_env(home: Path) -> dict:
    """Environment of a machine with no audio server: no PULSE_SERVER, and a home and runtime folder of
    its own under ``home`` with no server socket in them. (A runtime folder, rather than none: without
    one, libpulse makes a ``/tmp/pulse-*`` folder for each new home and leaves it behind.)"""
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PULSE_SERVER"}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    return env


def run_cli(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "realtime_ser", *args],
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=timeout,
        cwd=REPO,
        **kw,
    )


# -- PulseAudio virtual microphone ------------------------------------------------------------


def listen_during(source, model, action, lead_in_s: float = 0.5, tail_s: float = 1.5):
    """Run a real pipeline on ``source``; once ``lead_in_s`` of its audio has come, call ``action()``
    (play something into the server), give the last utterance ``tail_s`` to end, stop.
    Returns ``(pipeline, events)``."""
    import time

    from realtime_ser.pipeline.worker import Pipeline

    pipe = Pipeline(source, model)
    seen: list = []
    pipe.add_event_listener(seen.append)
    pipe.start()
    try:
        deadline = time.monotonic() + lead_in_s + 5
        while pipe.stats.stream_time < lead_in_s and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pipe.stats.stream_time >= lead_in_s, "no audio from the device"
        action()
        time.sleep(tail_s)
    finally:
        pipe.stop()
    assert pipe.error is None, pipe.error
    return pipe, seen


from tools.virtual_mic import PulseServer, reinit_portaudio  # noqa: E402  (shared with tools/soak.py)


@pytest.fixture(scope="session")
def pulse():
    """Session-wide virtual microphone; PULSE_SERVER is set in this process before capture starts."""
    root = Path(tempfile.mkdtemp(prefix="rtser-pulse-"))
    server = PulseServer(root)
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER",)}
    server.start()
    os.environ["PULSE_SERVER"] = server.server
    reinit_portaudio()
    try:
        yield server
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reinit_portaudio()
        shutil.rmtree(root, ignore_errors=True)


#: How long the programs under test wait on a hung audio server (10 s by default): its messages say it.
HUNG_SERVER_TIMEOUT = "2"


def hung_server_env(server) -> dict:
    """``server``'s environment, with the programs told to give up on it after HUNG_SERVER_TIMEOUT s."""
    return dict(server.env, REALTIME_SER_AUDIO_TIMEOUT=HUNG_SERVER_TIMEOUT)


@pytest.fixture
def hung_pulse(tmp_path):
    """The environment of a private PulseAudio daemon that is stopped (SIGSTOP), as a wedged server
    is: it accepts connections and never answers. Resumed and ended afterwards."""
    import signal

    server = PulseServer(tmp_path / "hung-pulse")
    server.start()
    pid = server.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield hung_server_env(server)
    finally:
        os.kill(pid, signal.SIGCONT)
        server.stop()


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str):
    """A file system of ``size`` of its own at ``folder`` (made), to fill up for real: a tmpfs,
    unmounted afterwards. No skip: CI runs as root (.ci/run), and a skipped test checks nothing there."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"cannot mount a small tmpfs (the tests run as root): {mounted.stderr.strip()}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
