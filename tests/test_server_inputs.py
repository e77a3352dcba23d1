"""The audio server's inputs under their own names, with their real channel counts.

On a Linux desktop PulseAudio or PipeWire owns the sound cards; their inputs are listed as the
system's sound settings name them and recorded through ALSA's ``pulse`` device. Real daemon
(tests/conftest.py), real PortAudio streams, real model.
"""

from __future__ import annotations

import os
import time

import pytest

from conftest import cli_env, hung_server_env, listen_during, run_cli
from realtime_ser.audio.devices import list_devices, resolve_device
from realtime_ser.audio.pulse_sources import list_pulse_inputs
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.errors import DeviceError
from realtime_ser.gui.input_devices import InputChoice, channel_choices, default_list_inputs
from realtime_ser.pipeline.events import EmotionEvent

CLIP = "ravdess/Actor_01/03-01-07-02-02-01-01.flac"  # one utterance with a quiet lead-in


def test_inputs_are_listed_by_the_names_the_desktop_shows(pulse):
    with pulse.stereo_input("interview", "Interview-Mics"):
        listed = {d.spec: d for d in list_devices(inputs_only=True)}
        mic, duo = listed["pulse:vmic"], listed["pulse:interview"]
        assert (mic.name, mic.max_input_channels, mic.offers_channel_choice) == ("VirtualMic", 1, False)
        assert (duo.name, duo.max_input_channels, duo.offers_channel_choice) == ("Interview-Mics", 2, True)
        # their own rates (48 kHz, tools/virtual_mic.py), not the 44.1 kHz of ALSA's pulse device they go through
        assert mic.default_samplerate == duo.default_samplerate == 48000 != listed["pulse"].default_samplerate
        assert not [spec for spec in listed if spec.endswith(".monitor")]  # System audio stands for those
        # ALSA's catch-all devices claim 32 channels: no channel choice there
        assert not listed["pulse"].offers_channel_choice and not listed["default"].offers_channel_choice
        assert resolve_device("pulse:interview") == duo
        # the app's picker: the name shown, the spec kept, the channels offered
        choices = {c.spec: c for c in default_list_inputs()}
        assert choices["pulse:interview"] == InputChoice("pulse:interview", "Interview-Mics", False, 2, True)
        assert choices["pulse:vmic"].channels == 0

        listing = run_cli("devices", env=pulse.env)
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        assert any(line.endswith("Interview-Mics  [pulse:interview]") and line.split()[1:4:2] == ["2", "48000"]
                   for line in lines)
    assert "pulse:interview" not in {d.spec for d in list_devices(inputs_only=True)}  # unplugged: gone


def test_an_input_is_named_by_what_devices_lists_for_it(pulse):
    """`devices` shows "VirtualMic  [pulse:vmic]": that name, or a unique part of it in any case,
    is what `--device` takes, as for PortAudio's names."""
    with pulse.stereo_input("interview", "Interview-Mics"):
        assert resolve_device("VirtualMic").spec == resolve_device("virtualm").spec == "pulse:vmic"
        assert resolve_device("INTERVIEW") == resolve_device("pulse:interview")
        assert resolve_device("pulse").spec == "pulse"  # an exact name still wins over parts of others
        with pytest.raises(DeviceError) as err:
            resolve_device("mic")
        assert "ambiguous" in str(err.value) and "VirtualMic [pulse:vmic]" in str(err.value)
        assert "Interview-Mics [pulse:interview]" in str(err.value)
        with pytest.raises(DeviceError, match="see `realtime-ser devices`"):
            resolve_device("no such input")
        with pytest.raises(DeviceError, match=r"^an empty audio device name names no device"):
            resolve_device(" ")  # a part of every name: all were listed as "ambiguous"
        source = MicrophoneSource("Interview")
        source.start()
        try:
            assert (source.name, source.info.spec) == ("Interview-Mics", "pulse:interview")
        finally:
            source.stop()


def test_two_inputs_of_one_name_are_ambiguous_even_named_in_full(pulse):
    """Two microphones of one model show under one name: the first was taken without a word, perhaps
    not the one meant. Each is still named for sure by what its brackets show."""
    with pulse.stereo_input("twin_a", "TwinMic"), pulse.stereo_input("twin_b", "TwinMic"):
        with pytest.raises(DeviceError) as err:
            resolve_device("TwinMic")
        assert str(err.value) == ("audio device name 'TwinMic' is ambiguous (TwinMic [pulse:twin_a], TwinMic "
                                  "[pulse:twin_b]); use its index or the name in brackets")
        assert resolve_device("pulse:twin_b").spec == "pulse:twin_b"


def test_channel_choices_name_what_each_kind_of_device_gives():
    server_stereo = InputChoice("pulse:x", "X", channels=2, mixes=True)
    assert channel_choices(server_stereo) == [("All channels (mixed)", None), ("Channel 1 (left)", 1),
                                              ("Channel 2 (right)", 2)]
    interface = InputChoice("Scarlett 4i4", "Scarlett 4i4", channels=4)
    # a sound card's own device gives its first input when opened with one channel: that is the default
    assert channel_choices(interface) == [("Input 1", None), ("Input 2", 2), ("Input 3", 3), ("Input 4", 4)]
    assert channel_choices(InputChoice("mic", "mic", channels=0)) == []


def test_listening_to_an_input_by_its_server_name(pulse, model, data):
    pipe, seen = listen_during(MicrophoneSource("pulse:vmic"), model,
                               lambda: pulse.play(data / CLIP).wait(timeout=20))
    assert pipe.source.name == "VirtualMic"
    assert len([e for e in seen if isinstance(e, EmotionEvent) and e.final]) == 1
    assert not pipe.source.captures_playback


def test_an_input_the_server_lacks_is_one_line(pulse):
    with pytest.raises(DeviceError, match="no input named 'gone'") as err:
        MicrophoneSource("pulse:gone").start()
    assert "\n" not in str(err.value)
    with pytest.raises(DeviceError, match="has one input channel, so there is no channel 2"):
        MicrophoneSource("pulse:vmic", channel=2).start()


def test_without_a_server_nothing_is_listed_and_nothing_breaks(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-server'}")
    assert list_pulse_inputs() is None  # "cannot know", not "none"
    proc = run_cli("devices", env=cli_env(PULSE_SERVER=f"unix:{tmp_path / 'no-server'}"))
    assert "Traceback" not in proc.stderr and "[pulse:" not in proc.stdout


def test_an_unplugged_server_input_is_reported_not_silently_replaced(pulse):
    """A USB microphone pulled out mid-session: the server moves its stream to the default input
    (module-rescue-streams), so audio never stops. It used to go on recording the other
    microphone without a word; now the input is reported lost, as a sound card's is, and the
    fallback to the default input is said."""
    src = MicrophoneSource("pulse:interview", reconnect_interval=0.3)
    statuses = []
    with pulse.stereo_input("interview", "Interview-Mics"):
        src.start()
        try:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                src.read(0.1)
            statuses += src.pop_status()
        except BaseException:
            src.stop()
            raise
    try:  # unplugged
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not any("reconnected" in s.message for s in statuses):
            src.read(0.1)
            statuses += src.pop_status()
    finally:
        src.stop()
    messages = [s.message for s in statuses]
    assert messages[:1] == ["audio device 'Interview-Mics' stopped delivering audio (unplugged?); "
                            "trying to reconnect"], messages
    assert len(messages) == 2 and messages[1].startswith("audio device reconnected: "), messages
    assert "Interview-Mics" not in messages[1] and src.info.spec != "pulse:interview"


def test_an_input_plugged_back_in_is_recorded_again(pulse):
    """Back on the default input after the microphone asked for was pulled out: once it is there
    again it is recorded again, and said; the session went on with the other microphone for good."""
    src = MicrophoneSource("Interview-Mics", reconnect_interval=0.3)
    statuses = []

    def read_until(seconds, done=lambda: False):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            src.read(0.1)
            statuses.extend(src.pop_status())

    try:
        with pulse.stereo_input("interview", "Interview-Mics"):
            src.start()
            read_until(1.5)
        read_until(8, lambda: any("reconnected" in s.message for s in statuses))  # on the default input
        assert src.info.spec != "pulse:interview"
        with pulse.stereo_input("interview", "Interview-Mics"):  # plugged back in
            read_until(8, lambda: any("back" in s.message for s in statuses))
            assert src.info.spec == "pulse:interview" and statuses[-1].message == "audio device back: Interview-Mics"
            src.take_gap()
            got, t0 = 0, time.monotonic()
            while time.monotonic() - t0 < 1.0:
                got += src.read(0.1).size
            assert got > 0.7 * 16000 and src.take_gap() == 0  # audio flows from it again, nothing dropped
    finally:
        src.stop()


def test_the_time_an_input_was_away_is_said_when_it_is_back_not_as_an_overrun(pulse):
    """Its "reconnected" was stamped at the moment of loss, so nobody could tell how long it was away,
    and the time away was then reported as an "audio overrun" and counted as one."""
    from realtime_ser.pipeline.worker import Pipeline

    pipeline = Pipeline(MicrophoneSource("pulse:interview", reconnect_interval=0.3), None)
    statuses = []
    pipeline.add_event_listener(lambda ev: statuses.append(ev) if ev.type == "status" else None)
    with pulse.stereo_input("interview", "Interview-Mics"):
        pipeline.start()
        time.sleep(1.5)
    try:  # unplugged: back on the default input after a while away
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not any("reconnected" in s.message for s in statuses):
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        pipeline.stop()
    lost, back = statuses[:2]
    assert "stopped delivering audio" in lost.message and back.message.startswith("audio device reconnected: ")
    away = float(back.message.split("(after ")[1].split(" s without audio")[0])
    assert away >= 0.3 and back.time - lost.time == pytest.approx(away, abs=0.25), (lost, back)
    assert not [s for s in statuses if "overrun" in s.message] and pipeline.stats.overruns == 0


def test_a_recording_whose_device_is_still_gone_at_the_end_says_so(model_path, tmp_path):
    """The audio server (and with it the microphone) gone for the rest of the run: the session was
    saved as complete, with no error, and listen exited 0 without a word that the input was gone."""
    import signal
    import subprocess
    import sys

    from conftest import REPO
    from realtime_ser.session import Session
    from tools.virtual_mic import PulseServer

    server = PulseServer(tmp_path / "pulse")
    server.start()
    sessions = tmp_path / "sessions"
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--device", "VirtualMic", "--record",
                             str(sessions), "--model", model_path], cwd=REPO, env=server.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # listening has begun
            if line.startswith("listening on"):
                break
        time.sleep(1.5)
        server.stop(signal.SIGKILL)  # the server, and every input with it, gone
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        server.stop()
    (folder,) = sessions.iterdir()
    session = Session.open(folder)
    gone = "audio device 'VirtualMic' was gone at the end (unplugged?)"
    assert session.status == "stopped" and session.manifest["error"] == gone
    assert proc.returncode == 1 and stderr.splitlines()[-1] == f"realtime-ser: error: {gone}", stderr
    assert "Traceback" not in stderr and session.duration > 1.0


def test_an_audio_server_that_hangs_while_listening_does_not_keep_the_program_from_ending(model_path, tmp_path):
    """The server frozen mid-run (SIGSTOP): listen said and saved everything, then waited for ever in
    PortAudio's clean-up at exit (Pa_Terminate joining a stream thread that waits on the server)."""
    import signal
    import subprocess
    import sys

    from conftest import REPO
    from tools.virtual_mic import PulseServer

    server = PulseServer(tmp_path / "pulse")
    server.start()
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "realtime_ser", "listen", "--device", "VirtualMic", "--duration",
                             "5", "-o", str(out), "--model", model_path], cwd=REPO, env=hung_server_env(server),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.startswith("listening on"):
                break
        time.sleep(1.0)
        os.kill(server.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        _, stderr = proc.communicate(timeout=90)
        took = time.monotonic() - t0
    finally:
        proc.kill()
        os.kill(server.pid, signal.SIGCONT)
        server.stop()
    assert took < 20, took  # the deadlines it meets (2 s here): the device's stall, a reconnect, the clean-up
    assert "--- summary ---" in stderr and "Traceback" not in stderr
    assert "stopped delivering audio" in out.read_text()  # said, and in the output too


def test_a_hung_audio_server_is_a_one_line_error_not_a_hang(hung_pulse):
    """A wedged PulseAudio/PipeWire accepts connections and never answers. PortAudio's initialisation
    (ALSA's pulse plugin) then waited for ever: ``devices`` and ``listen`` hung without a word."""
    for args in (("devices",), ("listen", "--duration", "1")):
        result = run_cli(*args, env=hung_pulse, timeout=90)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            "realtime-ser: error: the sound system did not answer within 2 s: the audio server (PulseAudio or "
            "PipeWire) seems hung; restart it (`systemctl --user restart pipewire pipewire-pulse`, or "
            "`pulseaudio -k`) and try again"], args


HANGS_AFTER_START = """
import sys
from realtime_ser.audio.devices import load_sounddevice
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.errors import DeviceError
load_sounddevice()  # PortAudio starts while the server answers
print("ready", flush=True)
sys.stdin.readline()  # the server is stopped here
try:
    MicrophoneSource(device="pulse").start()
except DeviceError as exc:
    print("error:", exc, flush=True)
"""


def test_opening_an_input_after_the_server_hung_is_a_one_line_error(tmp_path):
    """The server hung while the program ran (PortAudio started fine): opening the input, which the
    app does on its window's thread, waited 35 s in ALSA's pulse plugin (a frozen window), then
    failed with PortAudio's "Illegal combination of I/O devices"."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import PulseServer

    server = PulseServer(tmp_path / "pulse")
    server.start()
    pid = server.pid
    proc = subprocess.Popen([sys.executable, "-c", HANGS_AFTER_START], env=hung_server_env(server), text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "ready\n"
        os.kill(pid, signal.SIGSTOP)
        out, err = proc.communicate("\n", timeout=60)
    finally:
        proc.kill()
        os.kill(pid, signal.SIGCONT)
        server.stop()
    assert out.startswith("error: the sound system did not answer within 2 s"), (out, err)


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "1e9"])
def test_a_bad_audio_server_timeout_is_a_one_line_error(value):
    """REALTIME_SER_AUDIO_TIMEOUT gives a slow (remote, Bluetooth) audio server longer than 10 s; a value
    that is not a sensible number of seconds is said, not taken as 'never wait' or 'wait for ever'."""
    result = run_cli("devices", env=cli_env(REALTIME_SER_AUDIO_TIMEOUT=value), timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        "realtime-ser: error: REALTIME_SER_AUDIO_TIMEOUT must be a finite number of seconds > 0 and <= 600, "
        f"not {value!r}"]


def test_the_audio_server_timeout_is_10_s_unless_given(monkeypatch):
    from realtime_ser.audio.deadline import audio_server_timeout_s

    monkeypatch.delenv("REALTIME_SER_AUDIO_TIMEOUT", raising=False)
    assert audio_server_timeout_s() == 10.0
    monkeypatch.setenv("REALTIME_SER_AUDIO_TIMEOUT", " 30 ")
    assert audio_server_timeout_s() == 30.0
