"""A private PulseAudio daemon with a virtual microphone, for tests, benchmarks and soak runs.

The CI machine has no sound card.  This starts a real PulseAudio server in a
temp dir (its own config, HOME and runtime dir, so nothing touches the real
home) with a null sink, a virtual source over its monitor, and a silence
loopback that keeps the sink rendering like a live device.  Audio played into
the sink with ``paplay`` comes out of the virtual source, which PortAudio
reaches through ALSA's ``pulse`` device when ``PULSE_SERVER`` is set before
sounddevice initialises.

Run ``python -m tools.virtual_mic`` to start one by hand; it prints the
``PULSE_SERVER`` to export and stops, the daemon and its temp dir gone, on Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/virtual_mic.py` finds `tools`

from realtime_ser.errors import SerError  # noqa: E402
from tools import argument_parser  # noqa: E402

PA_CONFIG = """\
load-module module-native-protocol-unix socket={socket} auth-anonymous=1
load-module module-null-sink sink_name=vsink rate=48000 channels=1 sink_properties=device.description=VirtualSink
load-module module-virtual-source source_name=vmic master=vsink.monitor source_properties=device.description=VirtualMic
load-module module-null-source source_name=silence rate=48000 channels=1
load-module module-loopback source=silence sink=vsink latency_msec=20 source_dont_move=true sink_dont_move=true
set-default-sink vsink
set-default-source vmic
"""


#: The daemon and the clients used here (Debian packages pulseaudio and pulseaudio-utils).
PROGRAMS = ("pulseaudio", "pactl", "paplay")


def require_programs() -> None:
    """A SerError naming what is missing of :data:`PROGRAMS` and how to install it: a desktop running
    PipeWire has no ``pulseaudio``, and the assert this replaces was a traceback, in ``soak`` only
    after its hours of replay; the tools that need a daemon call this before their work."""
    missing = [name for name in PROGRAMS if not shutil.which(name)]
    if missing:
        raise SerError(f"a private PulseAudio daemon needs {', '.join(missing)}, not found: "
                       "run tools/install_system_deps.sh (as root; make test does)")


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
        require_programs()
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

    @contextmanager
    def module(self, name: str, *args: str) -> Iterator[None]:
        """A PulseAudio module (a sink, a source) loaded for the block, unloaded after it."""
        index = self.pactl("load-module", name, *args).strip()
        try:
            yield
        finally:
            self.pactl("unload-module", index)

    @contextmanager
    def stereo_input(self, source: str, description: str) -> Iterator[None]:
        """A two-channel input named ``source`` (an interface with two microphones) for the block,
        over the monitor of a stereo null sink ``SOURCE-out``: what is played there, it hears.
        Fed silence and woken up as ``vsink`` is, so that it delivers audio like a live device."""
        sink = f"{source}-out"
        with self.module("module-null-sink", f"sink_name={sink}", "channels=2", "rate=48000"), \
                self.module("module-virtual-source", f"source_name={source}", f"master={sink}.monitor",
                            f"source_properties=device.description={description}"), \
                self.module("module-loopback", "source=silence", f"sink={sink}", "latency_msec=20",
                            "source_dont_move=true", "sink_dont_move=true"):
            self.pactl("suspend-sink", sink, "1")
            self.pactl("suspend-sink", sink, "0")
            yield

    def play(self, path: str | os.PathLike, sink: str | None = None) -> subprocess.Popen:
        """Start playing a file into the virtual microphone, or into ``sink`` (paplay's default buffering)."""
        return subprocess.Popen(["paplay", *([f"--device={sink}"] if sink else []), str(path)], env=self.env)


def reinit_portaudio() -> None:
    """Make an already imported sounddevice see the current PULSE_SERVER (re-enumerates devices)."""
    if "sounddevice" in sys.modules:
        sd = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()


def _stop_on_signal(signum, frame):
    """SIGTERM (kill, ``timeout``) and SIGHUP (a closed terminal) stop the daemon as Ctrl-C does;
    left at their default, they ended Python at once and left the daemon and its folder behind."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("virtual_mic", __doc__.split("\n\n")[0])
    parser.parse_args(argv)  # --help, or a mistyped option, before any daemon starts
    try:
        require_programs()
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Handlers, not a blocked signal mask: a mask would be inherited by the daemon started below.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop_on_signal)
    root = Path(tempfile.mkdtemp(prefix="rtser-vmic-"))
    server = PulseServer(root)
    try:
        server.start()
        print(f"export PULSE_SERVER={server.server}   # then: realtime-ser listen --device pulse")
        print(f"play into it: PULSE_SERVER={server.server} paplay FILE   (Ctrl-C stops the daemon)", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second one does not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        if server.pid is None:  # stopped while it started: the daemon may be up already
            try:
                server.pid = int((server.runtime / "pulse" / "pid").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
