"""Capturing what the computer plays (the other side of a call, a video) instead of a microphone.

PulseAudio and PipeWire (through pipewire-pulse) give every output a *monitor* source that carries
what is played there. PortAudio cannot name PulseAudio sources, but it does open ALSA's ``pulse``
device, and that device records from the source named in the ``PULSE_SOURCE`` environment variable
(read by libpulse when the stream is opened). ``@DEFAULT_MONITOR@`` is the server's own name for
the monitor of the default output, so "System audio" follows the output the user listens on.

On macOS and Windows a loopback driver (BlackHole, VB-CABLE, "Stereo Mix") appears as an ordinary
input device and needs nothing from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The input choice listed beside the microphones, and the short forms ``--device`` accepts.
SYSTEM_AUDIO_NAME = "System audio (what this computer plays)"
SYSTEM_AUDIO_ALIASES = ("system", "system audio")
#: ``--device pulse:SOURCE`` records one PulseAudio/PipeWire source by name (``pactl list short sources``).
PULSE_PREFIX = "pulse:"
#: The ALSA device (alsa-plugins' pulse plugin) that PULSE_SOURCE steers.
PULSE_DEVICE = "pulse"
DEFAULT_MONITOR = "@DEFAULT_MONITOR@"

#: What both kinds of capture need; the package's name differs between distributions.
_NEEDS = (
    "PulseAudio or PipeWire and ALSA's 'pulse' device (package libasound2-plugins on Debian/Ubuntu, "
    "alsa-plugins-pulseaudio on Fedora)"
)
UNAVAILABLE = (
    f"system audio needs {_NEEDS}; on macOS or Windows install a loopback device (BlackHole, "
    "VB-CABLE) and choose it as the input"
)
#: For ``pulse:SOURCE``: the user named one server source, so "system audio" would be the wrong thing.
SOURCE_UNAVAILABLE = f"recording a PulseAudio/PipeWire source needs {_NEEDS}"
#: Where libpulse is there but no server answers, the package is not what is missing.
_NO_SERVER = (
    "a running PulseAudio or PipeWire server, and none answers (start one: `systemctl --user start "
    "pipewire-pulse` or `pulseaudio --start`)"
)
NO_SERVER = f"system audio needs {_NO_SERVER}"
SOURCE_NO_SERVER = f"recording a PulseAudio/PipeWire source needs {_NO_SERVER}"

_env_lock = threading.Lock()


def wants_system_audio(device: object) -> bool:
    """True for ``system``, ``system audio`` and the listed name (any case)."""
    return isinstance(device, str) and device.strip().lower() in (*SYSTEM_AUDIO_ALIASES, SYSTEM_AUDIO_NAME.lower())


def pulse_source_named(device: object) -> str | None:
    """The source of a ``pulse:SOURCE`` device spec, else None."""
    if isinstance(device, str) and device.startswith(PULSE_PREFIX) and device[len(PULSE_PREFIX):].strip():
        return device[len(PULSE_PREFIX):].strip()
    return None


def is_playback_capture(device: object) -> bool:
    """Whether a device spec records what is played (a monitor), where silence is normal, not a fault."""
    source = pulse_source_named(device)
    return wants_system_audio(device) or (source is not None and source.endswith(".monitor"))


@contextmanager
def pulse_source(source: str | None) -> Iterator[None]:
    """Within the block, newly opened ``pulse`` streams record from ``source`` (None: unchanged).

    The variable is set only while a stream opens and restored at once, under a lock, so the
    process keeps its own setting and two streams opening together cannot mix theirs up.
    """
    if source is None:
        yield
        return
    with _env_lock:
        previous = os.environ.get("PULSE_SOURCE")
        os.environ["PULSE_SOURCE"] = source
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = previous
