"""Qt-free: the audio input devices the device picker lists, and re-enumerating them."""

from __future__ import annotations


def default_list_inputs() -> list[tuple[str, bool]]:
    """Input devices as ``(name, is_default)`` from the audio layer (re-queried on every call)."""
    from realtime_ser.audio.sources import list_devices

    return [(d.name, d.is_default_input) for d in list_devices(inputs_only=True)]


def rescan_audio_devices() -> None:
    """Make PortAudio enumerate devices again, so hot-plugged ones appear.

    PortAudio lists devices once when it is initialised; sounddevice's
    terminate/initialize pair is the documented way to refresh.  Only call this
    while no stream is open.
    """
    import sounddevice as sd

    sd._terminate()
    sd._initialize()
