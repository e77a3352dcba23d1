"""Audio input devices: listing them and finding the one a user named.

PortAudio's devices come first, then *System audio* and the audio server's
(PulseAudio/PipeWire) inputs under their own names, recorded through ALSA's
``pulse`` device (see audio.system_audio).  sounddevice is imported lazily: a
machine without PortAudio can still analyse files, and ``listen`` says clearly
that PortAudio is missing.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from typing import Callable, TypeVar

from realtime_ser.audio.deadline import NoAnswer, audio_server_timeout_s, call_with_deadline
from realtime_ser.audio.pulse_sources import list_pulse_inputs, server_answers
from realtime_ser.audio.system_audio import (
    DEFAULT_MONITOR,
    NO_SERVER,
    SOURCE_NO_SERVER,
    PULSE_DEVICE,
    PULSE_PREFIX,
    SOURCE_UNAVAILABLE,
    SYSTEM_AUDIO_ALIASES,
    SYSTEM_AUDIO_NAME,
    UNAVAILABLE,
    pulse_source_named,
    wants_system_audio,
)
from realtime_ser.errors import DeviceError


T = TypeVar("T")

PORTAUDIO_KEY = "portaudio"  # the deadline key of every PortAudio call that waits on the server


def audio_server_hung(seconds: float) -> DeviceError:
    return DeviceError(
        f"the sound system did not answer within {seconds:g} s: the audio server (PulseAudio or "
        "PipeWire) seems hung; restart it (`systemctl --user restart pipewire pipewire-pulse`, or "
        "`pulseaudio -k`) and try again"
    )


def ask_portaudio(fn: Callable[[], T]) -> T:
    """``fn()``, a PortAudio call that waits on the audio server, within the deadline; DeviceError
    (one line, what to do) when it does not return: a hung server must not hang the program."""
    seconds = audio_server_timeout_s()
    try:
        return call_with_deadline(fn, seconds, PORTAUDIO_KEY)
    except NoAnswer:
        raise audio_server_hung(seconds) from None


def _import_sounddevice():
    import sounddevice  # initialises PortAudio, which enumerates every device

    global _exit_bounded
    if not _exit_bounded:  # sounddevice's own clean-up at exit, given the deadline (see _end_portaudio)
        atexit.unregister(sounddevice._exit_handler)
        atexit.register(_end_portaudio)
        _exit_bounded = True
    return sounddevice


_exit_bounded = False


def _end_portaudio() -> None:
    """PortAudio's clean-up at exit (closing streams, Pa_Terminate) waited for ever on an audio server
    that hung during the run, after the program had said and saved everything: the process never
    ended. It gets the deadline too, and is left behind when it does not return."""
    import sounddevice

    try:
        call_with_deadline(sounddevice._exit_handler, audio_server_timeout_s() / 2, PORTAUDIO_KEY)
    except Exception:  # NoAnswer, or a stream that fails to close: the process ends either way
        pass


def load_sounddevice():
    """Import sounddevice, turning a missing PortAudio, or an audio server that does not answer
    (a hung PulseAudio/PipeWire blocks PortAudio's initialisation for ever), into a DeviceError."""
    try:
        return ask_portaudio(_import_sounddevice)
    except OSError as exc:
        raise DeviceError(
            f"PortAudio is not available ({exc}); install libportaudio2 to use a microphone"
        ) from None


def close_stream(stream) -> None:
    """Abort and close a PortAudio stream within a deadline. On a hung audio server both wait for
    ever: the worker hung in a lost device's clean-up, so its "stopped delivering audio" came only
    after the run, and nothing of it reached the output. Left behind if it does not return (it is
    gone either way), as is one that fails to close (a vanished device)."""
    def close() -> None:
        stream.abort()
        stream.close()

    try:
        call_with_deadline(close, audio_server_timeout_s() / 5, PORTAUDIO_KEY)
    except Exception:  # NoAnswer, PortAudioError
        pass


def open_stream(make: Callable[[], T]) -> T:
    """``make()``, which opens and starts a PortAudio stream, within the deadline (a hung audio server
    never answers the ALSA pulse plugin, and the GUI must not hang with it). A stream that opens after
    the caller gave up is closed: nobody would read it. Raises DeviceError, or what ``make`` raises."""
    lock = threading.Lock()
    state: dict[str, object] = {}

    def run() -> T:
        stream = make()
        with lock:
            if state.get("given_up"):
                stream.close()
            state["stream"] = stream
        return stream

    seconds = audio_server_timeout_s()
    try:
        return call_with_deadline(run, seconds, PORTAUDIO_KEY)
    except NoAnswer:
        with lock:
            state["given_up"] = True
            late = state.get("stream")
        if late is not None:  # opened between the deadline and now
            late.close()
        raise audio_server_hung(seconds) from None


def rescan_devices() -> None:
    """Make PortAudio enumerate devices again, so hot-plugged ones appear (PortAudio lists them
    once, when it is initialised; sounddevice's terminate/initialize pair is the documented way
    to refresh). Only call this while no stream is open. Raises DeviceError."""
    sd = load_sounddevice()

    def reinitialise() -> None:
        sd._terminate()
        sd._initialize()

    try:
        ask_portaudio(reinitialise)
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices ({exc})") from None


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    #: Record this PulseAudio/PipeWire source through the ALSA ``pulse`` device (see audio.system_audio).
    pulse_source: str | None = None
    #: The source's own channel count, where the server told it (``max_input_channels`` is then that
    #: count, not the 32 the ``pulse`` device claims); a stream of exactly this many keeps its layout.
    source_channels: int | None = None

    @property
    def is_input(self) -> bool:
        return self.max_input_channels > 0

    @property
    def spec(self) -> str:
        """What ``--device`` and the app's settings call it: the name, or ``pulse:SOURCE`` for a
        PulseAudio/PipeWire input (its description can change; the source's name does not)."""
        if self.pulse_source is None or self.pulse_source == DEFAULT_MONITOR:
            return self.name
        return PULSE_PREFIX + self.pulse_source

    @property
    def offers_channel_choice(self) -> bool:
        """Whether choosing one input channel means something: an interface's inputs or a stereo
        source, not ALSA's virtual devices (``pulse``, ``default``), which claim 32 or more."""
        n = self.source_channels if self.pulse_source is not None else self.max_input_channels
        return n is not None and 2 <= n <= MAX_CHOSEN_CHANNELS and self.name not in VIRTUAL_ALSA_DEVICES


#: Interfaces have up to a few dozen inputs; ALSA's virtual devices claim 32 to 128 channels.
MAX_CHOSEN_CHANNELS = 24
VIRTUAL_ALSA_DEVICES = ("default", "sysdefault", "pulse", "pipewire", "jack", "dsnoop")


def _through_pulse(pulse: DeviceInfo, source: str, name: str, channels: int | None = None,
                  rate: int | None = None) -> DeviceInfo:
    """A server input, recorded through ALSA's ``pulse`` device, with its own channels and rate where
    the server told them (the ``pulse`` device's own are what it converts to, 32 channels at 44.1 kHz)."""
    return DeviceInfo(pulse.index, name, pulse.hostapi, channels or pulse.max_input_channels, 0,
                      float(rate or pulse.default_samplerate), False, source, channels)


def list_devices(inputs_only: bool = False) -> list[DeviceInfo]:
    """All PortAudio devices (or only those that can capture), then *System audio* and the audio
    server's inputs under their own names (where ALSA's ``pulse`` device can record them)."""
    sd = load_sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices ({exc})") from None
    out = []
    for i, d in enumerate(devices):
        info = DeviceInfo(
            index=i,
            name=d["name"],
            hostapi=hostapis[d["hostapi"]]["name"],
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default_input=(i == default_in),
        )
        if info.is_input or not inputs_only:
            out.append(info)
    pulse = [d for d in out if d.name == PULSE_DEVICE and d.is_input]
    if pulse:
        sources = list_pulse_inputs() or []
        # System audio at the rate of the default output's monitor, which it records now.
        rate = next((src.rate for src in sources if src.monitors_default_output), None)
        out.append(_through_pulse(pulse[0], DEFAULT_MONITOR, SYSTEM_AUDIO_NAME, rate=rate))
        # Monitors stay out of the list: System audio is the one people want (--device pulse:NAME.monitor
        # still records any other).
        for src in sources:
            if not src.is_monitor:
                out.append(_through_pulse(pulse[0], src.name, src.description, src.channels, src.rate))
    return out


def resolve_device(device: int | str | None) -> DeviceInfo:
    """Find an input device by index, exact name or unique name fragment (None: the default);
    names include the audio server's inputs as listed (their descriptions).

    ``system`` (or *System audio*'s listed name) records what the computer plays, ``pulse:SOURCE``
    one PulseAudio/PipeWire source; both go through ALSA's ``pulse`` device.
    """
    devices = list_devices()
    if wants_system_audio(device) or pulse_source_named(device):
        pulse = [d for d in devices if d.name == PULSE_DEVICE and d.is_input and d.pulse_source is None]
        if not pulse:
            if server_answers() is False:  # the plugin cannot connect either: the server is what is missing
                raise DeviceError(NO_SERVER if wants_system_audio(device) else SOURCE_NO_SERVER)
            raise DeviceError(UNAVAILABLE if wants_system_audio(device) else SOURCE_UNAVAILABLE)
        if wants_system_audio(device):
            listed = [d for d in devices if d.pulse_source == DEFAULT_MONITOR]
            return listed[0] if listed else _through_pulse(pulse[0], DEFAULT_MONITOR, SYSTEM_AUDIO_NAME)
        return _pulse_input(pulse[0], pulse_source_named(device))
    # Numbers name PortAudio's devices only; names also the server's inputs, as `devices` lists them.
    named = devices
    devices = [d for d in devices if d.pulse_source is None]
    inputs = [d for d in devices if d.is_input]
    if isinstance(device, str) and device.strip().lstrip("-").isdigit():
        device = int(device)
    if device is None:
        default = [d for d in inputs if d.is_default_input]
        if default:
            return default[0]
        if inputs:
            return inputs[0]
        raise DeviceError("no audio input device found (is a microphone connected and allowed?)")
    if isinstance(device, int):
        match = [d for d in devices if d.index == device]
        if not match:
            raise DeviceError(f"audio device {device} does not exist (see `realtime-ser devices`)")
        if not match[0].is_input:
            raise DeviceError(f"audio device {device} ({match[0].name}) has no input channels")
        return match[0]
    if not str(device).strip():  # a part of every name: it would list them all as "ambiguous"
        raise DeviceError("an empty audio device name names no device (see `realtime-ser devices`)")
    exact = [d for d in named if d.name == device]
    fragment = [d for d in named if str(device).lower() in d.name.lower()]
    for candidates in (exact, fragment):
        usable = [d for d in candidates if d.is_input]
        if len(usable) == 1:
            return usable[0]
        # Two exactly so named (two microphones of one model) are as ambiguous as a fragment: taking
        # the first recorded one of them, perhaps not the one meant, without a word.
        if len(usable) > 1:
            names = ", ".join(_candidate(d) for d in usable)
            hint = "its index" if all(d.pulse_source is None for d in usable) else "its index or the name in brackets"
            raise DeviceError(f"audio device name {device!r} is ambiguous ({names}); use {hint}")
        if candidates:
            raise DeviceError(f"audio device {candidates[0].name!r} has no input channels")
    raise DeviceError(f"no audio device named {device!r} (see `realtime-ser devices`)")


def _candidate(d: DeviceInfo) -> str:
    """A device as an ambiguity error lists it, with what names it for sure."""
    if d.pulse_source is None:
        return f"{d.index}: {d.name}"
    return f"{d.name} [{SYSTEM_AUDIO_ALIASES[0] if d.spec == d.name else d.spec}]"


def _pulse_input(pulse: DeviceInfo, name: str) -> DeviceInfo:
    """``pulse:NAME`` under the source's description and with its real channel count; where the
    server cannot be asked (no libpulse), as named, for the stream's opening to judge."""
    sources = list_pulse_inputs()
    if sources is None:
        return _through_pulse(pulse, name, PULSE_PREFIX + name)
    match = [s for s in sources if s.name == name]
    if not match:
        raise DeviceError(f"the audio server has no input named {name!r} (see `realtime-ser devices`, "
                          "or `pactl list short sources` for monitors)")
    return _through_pulse(pulse, name, match[0].description, match[0].channels, match[0].rate)
