"""realtime_ser.predict_clip: a file through the microphone's path, summed up for a script."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import realtime_ser
from realtime_ser.errors import SerError
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent
from realtime_ser.pipeline.processor import PipelineConfig
from realtime_ser.pipeline.worker import analyze_file

from conftest import REPO, ravdess_clips, run_cli

DEMO = REPO / "assets" / "demo" / "demo-session.flac"


def test_predict_clip_sums_up_the_utterances_the_live_path_finds(model):
    result = realtime_ser.predict_clip(DEMO, model)
    finals = [ev for ev in analyze_file(DEMO, model) if isinstance(ev, EmotionEvent) and ev.final]
    assert result.has_speech and result.message is None
    timing_free = [dataclasses.replace(ev, latency_ms=None) for ev in result.utterances]
    assert timing_free == [dataclasses.replace(ev, latency_ms=None) for ev in finals] and len(finals) >= 3
    # Each utterance counts by its length.
    weights = np.array([ev.end - ev.start for ev in finals])
    for label in model.labels:
        expected = float(np.dot(weights, [ev.probabilities[label] for ev in finals]) / weights.sum())
        assert result.probabilities[label] == pytest.approx(expected)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert result.top_label == max(result.probabilities, key=result.probabilities.get)
    assert result.confidence == result.probabilities[result.top_label]
    expected_label = result.top_label if result.confidence >= 0.4 else UNCERTAIN
    assert result.label == expected_label
    assert result.speech_seconds == pytest.approx(float(weights.sum()))
    assert result.labels == model.labels


def test_predict_clip_loads_the_model_from_a_path_and_follows_the_threshold(model, model_path):
    clip = ravdess_clips(step=97)[0]
    by_path = realtime_ser.predict_clip(clip, model_path)
    by_model = realtime_ser.predict_clip(clip, model)
    assert by_path.probabilities == pytest.approx(by_model.probabilities)
    assert by_path.top_label in model.labels
    strict = realtime_ser.predict_clip(clip, model, dataclasses.replace(PipelineConfig(), confidence_threshold=1.0))
    assert strict.label == UNCERTAIN and strict.top_label == by_model.top_label


def test_predict_clip_of_silence_says_why_there_is_no_result(model, tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000 * 3, dtype=np.float32), 16000)
    result = realtime_ser.predict_clip(path, model)
    assert not result.has_speech
    assert result.probabilities == {} and result.label is None and result.top_label is None
    assert "no speech" in result.message


def test_predict_clip_bad_input_is_a_one_line_error(model, tmp_path):
    with pytest.raises(SerError, match="no-such.wav"):
        realtime_ser.predict_clip(tmp_path / "no-such.wav", model)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    with pytest.raises(SerError) as info:
        realtime_ser.predict_clip(junk, model)
    assert "junk.wav" in str(info.value) and "\n" not in str(info.value)


def test_importing_the_package_stays_cheap():
    code = "import sys, realtime_ser; print('numpy' in sys.modules, realtime_ser.Session.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "Session"]


def timing_free(result) -> list:
    return [dataclasses.replace(ev, latency_ms=None) for ev in result.utterances]


def test_an_array_takes_the_path_of_the_file_it_came_from(model):
    clip = ravdess_clips(step=97)[0]
    from_file = realtime_ser.predict_clip(clip, model)
    samples, rate = sf.read(clip)  # float64, (frames,)
    from_array = realtime_ser.predict_clip(samples, model, sample_rate=rate)
    assert from_file.has_speech and timing_free(from_array) == timing_free(from_file)
    assert from_array.probabilities == from_file.probabilities and from_array.path == ""
    pcm, _ = sf.read(clip, dtype="int16")  # integer PCM is scaled, not read as huge floats
    assert realtime_ser.predict_clip(pcm, model, sample_rate=rate).probabilities == pytest.approx(
        from_file.probabilities, abs=1e-3)
    # One side of a two-channel array (the other silent), at another rate: the same speech is found.
    stereo = np.stack([np.zeros(len(samples)), samples], axis=1)
    right = realtime_ser.predict_clip(stereo, model, sample_rate=float(rate), channel=2)
    assert [round(u.start, 1) for u in right.utterances] == [round(u.start, 1) for u in from_file.utterances]
    assert right.top_label == from_file.top_label
    assert not realtime_ser.predict_clip(stereo, model, sample_rate=rate, channel=1).has_speech


@pytest.mark.parametrize("kwargs, message", [
    ({"audio": np.zeros((2, 48000)), "sample_rate": 16000},
     "audio: an array of shape (2, 48000) would have 48000 channels of 2 frames; audio is (frames, channels)"),
    ({"audio": np.zeros((2, 200)), "sample_rate": 16000},  # so few frames that they passed for channels
     "audio: an array of shape (2, 200) would have 200 channels of 2 frames; audio is (frames, channels)"),
    ({"audio": np.zeros((1, 4000)), "sample_rate": 16000}, "audio: an array of shape (1, 4000) would have 4000 "
     "channels of 1 frame"),
    ({"audio": np.zeros(16000)}, "audio: an array of samples needs its sample_rate"),
    ({"audio": "talk.wav", "sample_rate": 16000}, "talk.wav: sample_rate is for an array of samples"),
    ({"audio": np.array(["a", "b"]), "sample_rate": 16000}, "audio: not audio samples"),
    ({"audio": np.zeros(0), "sample_rate": 16000}, "audio: contains no audio samples"),
    ({"audio": np.zeros((4, 2, 2)), "sample_rate": 16000}, "audio: an array of shape (4, 2, 2)"),
    ({"audio": np.zeros((16000, 2)), "sample_rate": 16000, "channel": 3},
     "audio: has 2 channels, so there is no channel 3"),
    ({"audio": np.zeros(16000), "sample_rate": 22050.5}, "audio: sample rate must be a whole number of Hz"),
    ({"audio": np.zeros(16000), "sample_rate": True}, "audio: sample rate must be a whole number of Hz"),
])
def test_an_array_that_is_not_audio_is_a_one_line_error(model, kwargs, message):
    with pytest.raises(SerError) as info:
        realtime_ser.predict_clip(model=model, **kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_mono_from_array_scales_mixes_and_resamples():
    from realtime_ser.audio.io import mono_from_array

    assert mono_from_array(np.array([0, 16384, -32768], np.int16), 16000, 16000).tolist() == [0.0, 0.5, -1.0]
    assert mono_from_array(np.array([128, 255, 0], np.uint8), 16000, 16000).tolist() == pytest.approx(
        [0.0, 127 / 128, -1.0])
    mixed = mono_from_array(np.array([[1.0, 0.0], [np.nan, 0.5]]), 16000, 16000)
    assert mixed.dtype == np.float32 and mixed.tolist() == [0.5, 0.0]  # a frame with NaN is silence, as in a file
    tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)
    out = mono_from_array(tone, 44100, 16000)
    assert len(out) == 16000 and np.argmax(np.abs(np.fft.rfft(out))) == 440  # one second, still 440 Hz


def test_a_path_given_as_bytes_is_a_path(model, model_path, tmp_path):
    """``os.fsencode(path)`` names a file as a str or a PathLike does (bytes are no array of samples),
    the model's as the recording's."""
    clip = ravdess_clips(step=97)[0]
    by_bytes = realtime_ser.predict_clip(bytes(clip), os.fsencode(model_path))
    assert by_bytes.path == str(clip) and by_bytes.probabilities == realtime_ser.predict_clip(clip, model).probabilities
    with pytest.raises(SerError, match="no-such.wav"):
        realtime_ser.predict_clip(bytes(tmp_path / "no-such.wav"), model)


def test_a_folder_for_a_model_is_called_a_folder_as_on_the_command_line(model, tmp_path):
    from realtime_ser.model.emotion_model import EmotionModel

    folder = tmp_path / "models"
    folder.mkdir()
    message = f"{folder}: is a directory, not a model file"
    for load in (lambda: EmotionModel.load(folder), lambda: realtime_ser.predict_clip(DEMO, str(folder))):
        with pytest.raises(SerError) as info:
            load()
        assert str(info.value) == message
    r = run_cli("analyze", str(DEMO), "--model", str(folder))
    assert (r.returncode, r.stderr) == (1, f"realtime-ser: error: {message}\n")


@pytest.mark.parametrize("channel", [True, False, 1.0, "1"])
def test_a_channel_is_a_whole_number_not_a_bool(model, channel):
    """True would otherwise pass for channel 1 (and 1.0 fail deep inside numpy): what is no channel
    number is said in one line, for a file as for an array, as channel=0 is."""
    message = f": channel {channel!r} is not a channel number (channels are numbered from 1; None mixes them all)"
    for kwargs in ({"audio": DEMO}, {"audio": np.zeros((16000, 2)), "sample_rate": 16000}):
        with pytest.raises(SerError) as info:
            realtime_ser.predict_clip(model=model, channel=channel, **kwargs)
        assert str(info.value).endswith(message) and "\n" not in str(info.value)
    assert realtime_ser.predict_clip(DEMO, model, channel=np.int64(1)).has_speech  # numpy's integers are numbers


def test_one_model_shared_by_threads_gives_each_call_its_own_answer(model):
    """The runtime's interpreter has one input and one output tensor: four threads sharing one model made
    some calls fail ("There is at least 1 reference to internal data") and, now and then, one call get
    another's answer."""
    from concurrent.futures import ThreadPoolExecutor

    from realtime_ser.audio.io import load_audio

    windows = []
    for clip in ravdess_clips(step=120)[:4]:
        audio = load_audio(clip, 16000)
        windows += [audio[start:start + 48000] for start in (0, 8000, 16000)]
    expected = [model.predict_window(w) for w in windows]
    with ThreadPoolExecutor(4) as pool:
        rounds = list(pool.map(lambda i: model.predict_window(windows[i % len(windows)]), range(600)))
    for i, got in enumerate(rounds):
        np.testing.assert_array_equal(got, expected[i % len(windows)])


def test_samples_whose_scale_says_they_are_something_else_are_not_misread(model):
    """A list of 16-bit values (numpy makes it int64) was read as silence; 16-bit PCM held as floats was
    clipped to full scale and gave a confident label for what was really speech; raw bytes were 8-bit
    samples; a ragged list leaked numpy's ValueError."""
    import warnings

    clip = ravdess_clips(step=97)[0]
    pcm, rate = sf.read(clip, dtype="int16")
    reference = realtime_ser.predict_clip(pcm, model, sample_rate=rate)
    assert reference.has_speech
    from_list = realtime_ser.predict_clip(pcm.tolist(), model, sample_rate=rate)
    assert timing_free(from_list) == timing_free(reference)
    with pytest.raises(SerError, match=r"^audio: a list of whole numbers is read as 16-bit PCM, and these reach 40000"):
        realtime_ser.predict_clip([0, 40000, -5], model, sample_rate=rate)
    with pytest.raises(SerError, match=r"^audio: float samples reach \d+, \d+ dB over full scale; .*divide it by 32768"):
        realtime_ser.predict_clip(pcm.astype(np.float32), model, sample_rate=rate)
    with pytest.warns(UserWarning, match=r"these int32 samples peak at \d+, which int32's range reads as -\d+ dB"):
        realtime_ser.predict_clip(pcm.astype(np.int32), model, sample_rate=rate)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full-scale int32 PCM is read without a word
        wide = realtime_ser.predict_clip(pcm.astype(np.int32) << 16, model, sample_rate=rate)
    assert wide.probabilities == pytest.approx(reference.probabilities, abs=1e-6)
    for raw in (pcm.tobytes(), bytearray(pcm.tobytes())):
        with pytest.raises(SerError) as info:
            realtime_ser.predict_clip(raw, model, sample_rate=rate)
        assert "np.frombuffer(data, dtype=np.int16)" in str(info.value) and len(str(info.value)) < 200
    with pytest.raises(SerError, match="nested lists of different lengths"):
        realtime_ser.predict_clip([[0.1, 0.2], [0.3]], model, sample_rate=rate)


def test_arguments_of_the_wrong_kind_are_named(model):
    """An open file, None or the model in the audio's place asked for a sample_rate; a wrong model or
    config object failed deep in the pipeline with an AttributeError."""
    import io

    clip = ravdess_clips(step=97)[0]
    with open(clip, "rb") as f:
        for audio in (io.BytesIO(f.read()), f):
            with pytest.raises(SerError, match=r"^audio: expected a file's path or an array of samples, not "
                                               r"\w+ \(an open file: pass its path"):
                realtime_ser.predict_clip(audio, model)
    with pytest.raises(SerError, match=r"^audio: an empty path \(''\) names no file or folder$"):
        realtime_ser.predict_clip("", model)
    for audio, kind in ((None, "NoneType"), (model, "EmotionModel"), (5, "int")):
        with pytest.raises(SerError, match=f"^audio: expected a file's path or an array of samples, not {kind}$"):
            realtime_ser.predict_clip(audio, model, sample_rate=16000)
    with pytest.raises(TypeError, match="^model: expected an EmotionModel, a model file's path or None, not int$"):
        realtime_ser.predict_clip(clip, 5)
    with pytest.raises(TypeError, match="^config: expected a PipelineConfig or None, not dict$"):
        realtime_ser.predict_clip(clip, model, config={"confidence_threshold": 0.9})


def test_option_values_that_would_fail_later_or_silently_are_refused_where_they_are_set(model):
    """A NaN confidence threshold compares false with every probability: no result was ever
    "uncertain", silently. A zero frame length or a negative time failed deep in the pipeline."""
    import numpy as np

    from realtime_ser.dsp.vad import VADConfig

    refused = [
        (lambda: PipelineConfig(confidence_threshold=float("nan")),
         "PipelineConfig.confidence_threshold must be a finite number >= 0, not nan"),
        (lambda: PipelineConfig(smoothing=1.0), "PipelineConfig.smoothing must be a finite number >= 0 and < 1, not 1.0"),
        (lambda: PipelineConfig(partial_interval_s=0), "PipelineConfig.partial_interval_s must be a finite number > 0, not 0"),
        (lambda: PipelineConfig(min_segment_s="0.6"), "PipelineConfig.min_segment_s must be a finite number >= 0, not '0.6'"),
        (lambda: VADConfig(frame_ms=0), "VADConfig.frame_ms must be a finite number > 0 and <= 1000, not 0"),
        (lambda: VADConfig(threshold_db=float("inf")), "VADConfig.threshold_db must be a finite number >= 0, not inf"),
        (lambda: VADConfig(hangover_ms=-300), "VADConfig.hangover_ms must be a finite number >= 0, not -300"),
        (lambda: VADConfig(max_utterance_s=True), "VADConfig.max_utterance_s must be a finite number > 0, not True"),
    ]
    for make, message in refused:
        with pytest.raises(ValueError) as caught:
            make()
        assert str(caught.value) == message
    with pytest.raises(TypeError, match=r"^PipelineConfig\.vad: expected a VADConfig, not dict$"):
        PipelineConfig(vad={"threshold_db": 8})
    # numbers of numpy's kinds are numbers; a threshold over 1 makes every result uncertain, as it says
    config = PipelineConfig(vad=VADConfig(threshold_db=np.float32(12)), confidence_threshold=1.01)
    result = realtime_ser.predict_clip(ravdess_clips(step=97)[0], model, config)
    assert result.utterances and all(u.label == "uncertain" for u in result.utterances)
