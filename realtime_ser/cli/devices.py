"""``realtime-ser devices``: the audio devices and inputs ``--device`` can name."""

from __future__ import annotations

from realtime_ser.cli.common import EXIT_ERROR, print_error
from realtime_ser.console import write_stdout as _print


def cmd_devices(args) -> int:
    from realtime_ser.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        print_error("no audio devices found (no sound card, or no audio server running)")
        return EXIT_ERROR
    _print(f"{'idx':>3}  {'in':>2} {'out':>3}  {'rate':>6}  {'host API':<12} name")
    for d in devices:
        mark = "*" if d.is_default_input else " "
        # --device system; an audio server's input by the name that does not change (pulse:SOURCE)
        index = d.index if d.pulse_source is None else "sys" if d.spec == d.name else "-"
        name = d.name if d.spec == d.name else f"{d.name}  [{d.spec}]"
        _print(
            f"{index:>3}{mark} {d.max_input_channels:>2} {d.max_output_channels:>3}  "
            f"{d.default_samplerate:>6.0f}  {d.hostapi:<12} {name}"
        )
    if not any(d.is_input for d in devices):
        print_error("none of these devices can capture audio (no input channels)")
        return EXIT_ERROR
    return 0
