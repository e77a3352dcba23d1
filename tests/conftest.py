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

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests (and the CLI/GUI subprocesses they start) must never read or write the
# developer's own settings or session folders.
os.environ["REALTIME_SER_CONFIG_DIR"] = tempfile.mkdtemp(prefix="realtime-ser-test-config-")


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

PA_CONFIG = """\
load-module module-native-protocol-unix socket={socket} auth-anonymous=1
load-module module-null-sink sink_name=vsink rate=48000 channels=1 sink_properties=device.description=VirtualSink
load-module module-virtual-source source_name=vmic master=vsink.monitor source_properties=device.description=VirtualMic
load-module module-null-source source_name=silence rate=48000 channels=1
load-module module-loopback source=silence sink=vsink latency_msec=20 source_dont_move=true sink_dont_move=true
set-default-sink vsink
set-default-source vmic
"""


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a zombie counts as stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


class PulseServer:
    """A private PulseAudio daemon in a temp dir; nothing touches the real home."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.runtime = root / "run"
        self.socket = root / "native"
        self.config = root / "pa.conf"
        self.pid: int | None = None
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config.write_text(PA_CONFIG.format(socket=self.socket))
        self.server = f"unix:{self.socket}"

    @property
    def env(self) -> dict:
        """Environment for clients (pactl, paplay, the CLI in a subprocess)."""
        env = dict(os.environ)
        env.update(PULSE_SERVER=self.server, HOME=str(self.home), XDG_RUNTIME_DIR=str(self.runtime))
        return env

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10, check=True
        ).stdout

    def start(self) -> None:
        assert shutil.which("pulseaudio"), "pulseaudio is not installed (run tools/install_system_deps.sh)"
        if self.socket.exists():
            self.socket.unlink()
        pid_file = self.runtime / "pulse" / "pid"
        if pid_file.exists():  # left by a killed daemon (maybe a zombie nobody reaped)
            pid_file.unlink()
        subprocess.run(
            ["pulseaudio", "-n", "-F", str(self.config), "--daemonize=yes", "--exit-idle-time=-1",
             "--log-target=file:" + str(self.root / "pulse.log")],
            env=self.env, check=True, timeout=20,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.pactl("info")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.05)
        self.pid = int(pid_file.read_text().split()[0])
        # Wake the null sink up so it renders continuously like a real device.
        self.pactl("suspend-sink", "vsink", "1")
        self.pactl("suspend-sink", "vsink", "0")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        pid, self.pid = self.pid, None
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)

    def play(self, path: str | os.PathLike) -> subprocess.Popen:
        """Start playing a file into the virtual microphone (paplay's default buffering)."""
        return subprocess.Popen(["paplay", str(path)], env=self.env)


def reinit_portaudio() -> None:
    """Make an already imported sounddevice see the current PULSE_SERVER (re-enumerates devices)."""
    if "sounddevice" in sys.modules:
        sd = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()


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
