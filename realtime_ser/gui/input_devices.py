"""Qt-free: the audio inputs the device picker lists, their channel choices, and re-enumerating them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputChoice:
    """One entry of the input picker."""

    spec: str  # what MicrophoneSource and the settings take (a name, ``pulse:SOURCE``)
    label: str  # what the list shows
    is_default: bool = False
    #: The inputs one may listen to alone (0: no choice offered, as for a mono microphone).
    channels: int = 0
    #: Whether listening to no channel in particular mixes them all (an audio server's source);
    #: a sound card's own device gives its first input instead.
    mixes: bool = False


def default_list_inputs() -> list[InputChoice]:
    """Input devices from the audio layer (re-queried on every call)."""
    from realtime_ser.audio.devices import list_devices

    return [
        InputChoice(d.spec, d.name, d.is_default_input,
                    d.max_input_channels if d.offers_channel_choice else 0, d.pulse_source is not None)
        for d in list_devices(inputs_only=True)
    ]


def channel_choices(choice: InputChoice) -> list[tuple[str, int | None]]:
    """``(label, channel)`` for the channel picker: 1-based channels, None for the device's own
    default (all mixed, or the first input); empty where there is nothing to choose."""
    if choice.channels < 2:
        return []
    stereo = choice.channels == 2
    items: list[tuple[str, int | None]] = [("All channels (mixed)", None)] if choice.mixes else []
    for n in range(1, choice.channels + 1):
        side = {1: " (left)", 2: " (right)"}.get(n, "") if stereo else ""
        if choice.mixes:
            items.append((f"Channel {n}{side}", n))
        else:  # a sound card's first input is what opening it gives anyway: no "(channel 1)" for every stereo mic
            items.append((f"Input {n}{side}", n if n > 1 else None))
    return items
