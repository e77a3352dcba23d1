"""One channel alone: a call recorded with each side on its own channel, an interview with one
microphone per speaker, an audio interface with the client on input 2.

The stereo material is the real CREMA-D demo on one channel and silence (or a RAVDESS clip) on the
other, so which channel was analysed shows in the results.
"""

from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf

from conftest import listen_during, run_cli
from realtime_ser.api import predict_clip
from realtime_ser.audio.file_source import FileSource
from realtime_ser.audio.io import load_audio
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.errors import AudioFileError, DeviceError
from realtime_ser.pipeline.events import EmotionEvent
from realtime_ser.pipeline.worker import analyze_file
from realtime_ser.resources import DEMO_PATH

SR = 16000


@pytest.fixture(scope="module")
def call(tmp_path_factory) -> tuple:
    """A stereo "call": the demo's speech on the right channel only; and its mono original."""
    speech = load_audio(DEMO_PATH, SR)
    path = tmp_path_factory.mktemp("call") / "call.wav"
    sf.write(path, np.stack([np.zeros_like(speech), speech], axis=1), SR)
    return path, speech


def _finals(events):
    return [e for e in events if isinstance(e, EmotionEvent) and e.final]


def test_one_channel_of_a_file_is_analysed_alone(call, model):
    path, _ = call
    right = _finals(analyze_file(path, model, channel=2))
    original = _finals(analyze_file(DEMO_PATH, model))
    assert [(e.start, e.end, e.top_label) for e in right] == [(e.start, e.end, e.top_label) for e in original]
    assert _finals(analyze_file(path, model, channel=1)) == []  # the silent side
    mixed = _finals(analyze_file(path, model))  # half the level, the same speech: found as well
    assert len(mixed) == len(original)
    assert predict_clip(path, model, channel=2).probabilities == pytest.approx(
        predict_clip(DEMO_PATH, model).probabilities)


def test_a_channel_the_file_lacks_is_a_one_line_error(call):
    path, _ = call
    with pytest.raises(AudioFileError, match="has 2 channels, so there is no channel 3"):
        FileSource(path, channel=3).start()
    with pytest.raises(AudioFileError, match="has one channel, so there is no channel 2"):
        FileSource(DEMO_PATH, channel=2).start()


def test_the_command_line_takes_a_channel(call, tmp_path):
    path, _ = call
    proc = run_cli("analyze", str(path), "--channel", "2", "--format", "summary")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].split(",")[2] == "6"  # utterances
    silent = run_cli("analyze", str(path), "--channel", "1")
    assert silent.returncode == 1 and "no speech found: the audio is silent" in silent.stderr
    for bad in ("0", "-1", "x", "1.5"):
        usage = run_cli("analyze", str(path), "--channel", bad)
        assert usage.returncode == 2 and "--channel" in usage.stderr.splitlines()[-1]
    missing = run_cli("listen", "--replay", str(path), "--channel", "3", "--speed", "20")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].endswith("has 2 channels, so there is no channel 3")


def test_one_input_channel_of_a_live_device(pulse, model, call, tmp_path):
    """A two-channel input of the real audio server (as an interface with two microphones): speech
    on channel 2 only is heard on channel 2 and not on channel 1."""
    _, speech = call
    path = tmp_path / "first-utterance.wav"  # the demo's first 4 s: one utterance
    sf.write(path, np.stack([np.zeros(4 * SR), speech[: 4 * SR]], axis=1), SR)
    heard = {}
    with pulse.stereo_input("duo", "Two-Mics"):
        for channel in (1, 2):
            pipe, seen = listen_during(MicrophoneSource("pulse:duo", channel=channel), model,
                                       lambda: pulse.play(path, sink="duo-out").wait(timeout=20))
            assert pipe.source.name == f"Two-Mics (channel {channel})"
            heard[channel] = len(_finals(seen))
    assert heard == {1: 0, 2: 1}

    with pytest.raises(DeviceError, match="so there is no channel 99"):
        MicrophoneSource("pulse", channel=99).start()
