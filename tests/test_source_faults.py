"""A source that fails part-way (a recording cut short): what was heard before keeps its results."""

import time

import numpy as np
import soundfile as sf

from realtime_ser.audio.file_source import FileSource
from realtime_ser.audio.io import load_audio
from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent, StatusEvent
from realtime_ser.pipeline.worker import Pipeline


def test_a_file_cut_short_ends_the_utterance_in_progress_before_the_error(model, data, tmp_path):
    speech = load_audio(data / "crema-d-samples" / "ANG.wav", 16000)
    whole = tmp_path / "three.flac"
    sf.write(whole, np.concatenate([speech] * 3), 16000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.55)])  # a copy that broke off

    pipeline = Pipeline(FileSource(cut), model)
    pipeline.start()
    deadline = time.monotonic() + 30
    while pipeline.running and time.monotonic() < deadline:
        time.sleep(0.05)
    events = []
    while not pipeline.events.empty():
        events.append(pipeline.events.get())

    assert isinstance(events[-1], StatusEvent) and events[-1].level == "error"
    assert "corrupt or truncated" in events[-1].message
    started = [e.utterance_id for e in events if isinstance(e, SpeechEvent) and e.kind == "start"]
    ended = [e.utterance_id for e in events if isinstance(e, SpeechEvent) and e.kind == "end"]
    finals = [e.utterance_id for e in events if isinstance(e, EmotionEvent) and e.final]
    assert started and started == ended == finals  # none left open with only partial results
