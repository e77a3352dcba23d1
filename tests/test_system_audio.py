"""Recording what the computer plays (the other side of a call) through a real PulseAudio server.

The test server's default *source* is switched to a silent one, so the ordinary input hears
nothing; a clip played to the default *output* must then reach the pipeline only through
*System audio* (the output's monitor). Real daemon, real PortAudio stream, real model.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import cli_env, listen_during, run_cli
from realtime_ser.audio.devices import list_devices, resolve_device
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.audio.system_audio import SYSTEM_AUDIO_NAME
from realtime_ser.errors import DeviceError
from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent, StatusEvent

CLIP = "ravdess/Actor_01/03-01-07-02-02-01-01.flac"  # its lead-in is quiet: see test_virtual_mic.py


@pytest.fixture
def silent_default_source(pulse):
    """The ordinary input records a silent source while the test runs; the default output is unchanged."""
    pulse.pactl("set-default-source", "silence")
    try:
        yield pulse
    finally:
        pulse.pactl("set-default-source", "vmic")


def _capture(device, model, pulse, clip, silence_first_s: float):
    """Listen on ``device``; after ``silence_first_s`` play ``clip`` to the default output."""
    return listen_during(MicrophoneSource(device), model, lambda: _play(pulse, clip), lead_in_s=silence_first_s)


def _play(pulse, clip, sink: str | None = None) -> None:
    assert pulse.play(clip, sink).wait(timeout=20) == 0


def test_system_audio_records_what_is_played(silent_default_source, model, data):
    pulse = silent_default_source
    choice = [d for d in list_devices(inputs_only=True) if d.name == SYSTEM_AUDIO_NAME]
    assert len(choice) == 1 and choice[0].pulse_source == "@DEFAULT_MONITOR@"
    assert resolve_device("system") == choice[0] == resolve_device(SYSTEM_AUDIO_NAME)
    # at the rate of the default output's monitor (48 kHz, tools/virtual_mic.py), as it is opened, not
    # the 44.1 kHz of ALSA's pulse device it is recorded through
    pulse_device = [d for d in list_devices(inputs_only=True) if d.spec == "pulse"]
    assert choice[0].default_samplerate == 48000 != pulse_device[0].default_samplerate
    listing = run_cli("devices", env=pulse.env)
    assert [line.split()[1:4:2] for line in listing.stdout.splitlines() if SYSTEM_AUDIO_NAME in line] == [["32", "48000"]]

    # The ordinary input hears nothing of it: the speech below can only come through the monitor.
    _, heard = _capture("pulse", model, pulse, data / CLIP, silence_first_s=0.5)
    assert not [e for e in heard if isinstance(e, SpeechEvent)]

    # 4 s of nothing playing first (a microphone is reported silent after 3): normal for a monitor.
    pipe, seen = _capture("system", model, pulse, data / CLIP, silence_first_s=4.0)
    assert [e.kind for e in seen if isinstance(e, SpeechEvent)] == ["start", "end"]
    assert len([e for e in seen if isinstance(e, EmotionEvent) and e.final]) == 1
    assert not [e for e in seen if isinstance(e, StatusEvent) and "silent" in e.message]
    assert pipe.stats.input_problem is None
    assert pipe.source.name == SYSTEM_AUDIO_NAME


def test_one_pulseaudio_source_by_name(pulse, model, data):
    """``pulse:SOURCE``: the sink's monitor named directly; a source that does not exist is one line."""
    pipe, seen = _capture("pulse:vsink.monitor", model, pulse, data / CLIP, silence_first_s=0.5)
    assert len([e for e in seen if isinstance(e, EmotionEvent) and e.final]) == 1
    assert pipe.source.captures_playback

    assert pipe.source.name == "Monitor of VirtualSink"  # the server's own description

    missing = MicrophoneSource("pulse:no-such-source")
    with pytest.raises(DeviceError, match="the audio server has no input named 'no-such-source'") as err:
        missing.start()
    assert "\n" not in str(err.value)


def test_the_command_line_offers_system_audio(pulse):
    listing = run_cli("devices", env=pulse.env)
    assert listing.returncode == 0, listing.stderr
    assert any(line.startswith("sys") and line.endswith(SYSTEM_AUDIO_NAME) for line in listing.stdout.splitlines())
    bad = run_cli("listen", "--device", "pulse:no-such-source", "--duration", "1", env=pulse.env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith(
        "realtime-ser: error: the audio server has no input named 'no-such-source'")


def test_without_an_audio_server_system_audio_says_what_is_needed(tmp_path):
    """No server at the address libpulse is given: no ``pulse`` device, so no System audio, and no
    named source either (asked for one source, the line says so rather than "system audio"). The
    ALSA plugin is installed here, so the line names the server, not a package (it used to send
    people to install libasound2-plugins, which they had)."""
    env = cli_env(PULSE_SERVER=f"unix:{tmp_path / 'no-server'}")
    lines = {}
    for device in ("system", "pulse:foo"):
        proc = run_cli("listen", "--device", device, "--duration", "1", env=env)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        (lines[device],) = proc.stderr.strip().splitlines()
        assert lines[device].endswith("a running PulseAudio or PipeWire server, and none answers (start one: "
                                      "`systemctl --user start pipewire-pulse` or `pulseaudio --start`)")
        assert "libasound2-plugins" not in lines[device]
    assert lines["system"].startswith("realtime-ser: error: system audio needs a running PulseAudio")
    assert lines["pulse:foo"].startswith(
        "realtime-ser: error: recording a PulseAudio/PipeWire source needs a running PulseAudio")


def test_a_missing_alsa_plugin_is_named_by_its_package(pulse, tmp_path):
    """The server answers but ALSA has no ``pulse`` device (here: ALSA's own configuration without
    the folder where the plugin's package puts its part, as on a system without that package): the
    package is what is missing, under each distribution's real name (Fedora's is one word), with
    what macOS and Windows do instead."""
    system_conf = Path("/usr/share/alsa/alsa.conf").read_text()
    assert '"/etc/alsa/conf.d"' in system_conf
    bare = tmp_path / "alsa.conf"
    bare.write_text(system_conf.replace('"/etc/alsa/conf.d"', ""))
    env = {**pulse.env, "ALSA_CONFIG_PATH": str(bare)}
    lines = {}
    for device in ("system", "pulse:vsink.monitor"):
        proc = run_cli("listen", "--device", device, "--duration", "1", env=env)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        lines[device] = proc.stderr.strip().splitlines()[-1]
        assert "libasound2-plugins on Debian/Ubuntu, alsa-plugins-pulseaudio on Fedora" in lines[device]
    assert lines["system"].startswith("realtime-ser: error: system audio needs PulseAudio or PipeWire")
    assert "loopback device" in lines["system"]
    assert lines["pulse:vsink.monitor"].startswith(
        "realtime-ser: error: recording a PulseAudio/PipeWire source needs PulseAudio or PipeWire")


def test_system_audio_follows_a_switch_of_output(pulse, model, data):
    """Headphones plugged in mid-call: the default output changes, and System audio records the new
    one's monitor from then on (it used to stay on the old one, hearing nothing)."""
    def switch_output_between_two_clips() -> None:
        _play(pulse, data / CLIP)  # the old default output (vsink)
        time.sleep(1.5)
        pulse.pactl("set-default-sink", "headset-out")
        time.sleep(2.0)  # checked once a second
        _play(pulse, data / CLIP, sink="headset-out")

    with pulse.stereo_input("headset", "Headset"):
        try:
            pipe, seen = listen_during(MicrophoneSource("system"), model, switch_output_between_two_clips)
        finally:
            pulse.pactl("set-default-sink", "vsink")
    assert len([e for e in seen if isinstance(e, EmotionEvent) and e.final]) == 2
    notes = [e.message for e in seen if isinstance(e, StatusEvent)]
    assert notes == ["System audio now records what plays on Null Output"]
    assert pipe.source.name == SYSTEM_AUDIO_NAME and pipe.source.reconnects == 0
