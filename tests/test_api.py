"""realtime_ser.predict_clip: a file through the microphone's path, summed up for a script."""

from __future__ import annotations

import dataclasses
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

from conftest import REPO, ravdess_clips

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
