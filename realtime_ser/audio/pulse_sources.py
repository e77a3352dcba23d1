"""The inputs a PulseAudio or PipeWire server offers, under the names the desktop shows for them.

On a Linux desktop the sound server owns the sound cards: PortAudio lists their raw ALSA devices
(often busy, named ``hw:1,0``) and the catch-all ``pulse``/``default``, but not "Blue Yeti Analog
Stereo" or "Built-in Audio Analog Stereo", the names the system's sound settings show. pulsectl
(libpulse, which pipewire-pulse serves as well) lists them, with each one's real channel count;
they are then recorded through ALSA's ``pulse`` device (see :mod:`realtime_ser.audio.system_audio`).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_ser.audio.deadline import audio_server_timeout_s, call_with_deadline

CLIENT_NAME = "realtime-ser"


@dataclass(frozen=True)
class PulseInput:
    name: str  # the server's name for it (``alsa_input.usb-...``), stable across restarts
    description: str  # what people see in the sound settings
    channels: int
    is_monitor: bool  # what an output plays, not a microphone
    rate: int | None = None  # its own sample rate (the ``pulse`` device converts it to the one asked for)
    monitors_default_output: bool = False  # what System audio records now


def _ask(query):
    """``query(pulse)`` on a fresh connection to the server, or None where none answers (none
    running, a hung one, no libpulse: not Linux, or a minimal system), so callers can tell "none"
    from "cannot know". A connection costs about 2 ms. (pulsectl's connect timeout is not used: it
    always waits for its full length; a stopped server would block the connection for ever.)"""
    try:
        import pulsectl
    except (ImportError, OSError):  # OSError: pulsectl is there but libpulse is not
        return None

    def ask():
        with pulsectl.Pulse(CLIENT_NAME) as pulse:
            return query(pulse)

    try:
        return call_with_deadline(ask, audio_server_timeout_s() / 2, "pulse-server")  # usually 2 ms
    except Exception:  # noqa: BLE001 - NoAnswer, pulsectl.PulseError and whatever a half-working server raises
        return None


def server_answers() -> bool | None:
    """Whether a PulseAudio/PipeWire server answers; None where that cannot be known (no libpulse)."""
    try:
        import pulsectl
    except (ImportError, OSError):
        return None
    del pulsectl  # imported only to tell "no server" from "no libpulse"
    return _ask(lambda pulse: True) is True


def list_pulse_inputs() -> list[PulseInput] | None:
    """Every source of the running server, monitors included; None where no server answers."""
    # Read inside the connection: a source's sample_spec points into libpulse's memory, freed with it
    # (read afterwards, its rate came out as 32582).
    def query(pulse):
        default_sink = pulse.server_info().default_sink_name
        return [PulseInput(s.name, s.description or s.name, int(s.channel_count), s.monitor_of_sink_name is not None,
                           _rate_of(s), bool(default_sink) and s.monitor_of_sink_name == default_sink)
                for s in pulse.source_list()]

    return _ask(query)


def _rate_of(source) -> int | None:
    """The source's sample rate, where the server gave one."""
    rate = getattr(getattr(source, "sample_spec", None), "rate", None)
    return int(rate) if isinstance(rate, int) and rate > 0 else None


def has_source(name: str) -> bool | None:
    """Whether the server still has the source ``name`` (a USB microphone pulled out: gone);
    None where no server answers."""
    return _ask(lambda pulse: any(s.name == name for s in pulse.source_list()))


def default_output() -> tuple[str, str] | None:
    """``(name, description)`` of the server's default output (sink), whose monitor System audio
    records; None where no server answers or it has none."""

    def query(pulse):
        name = pulse.server_info().default_sink_name
        sinks = [s for s in pulse.sink_list() if s.name == name] if name else []
        return (name, sinks[0].description or name) if sinks else None

    return _ask(query)
