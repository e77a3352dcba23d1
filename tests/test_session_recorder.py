"""Recording a session and reading it back: real speech, real model metadata, real files."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from realtime_ser.errors import SessionError

from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent, StatusEvent
from realtime_ser.session.catalog import summarize
from realtime_ser.session import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Session,
    SessionRecorder,
    find_sessions,
    is_being_recorded,
    is_session_folder,
    repair,
)
from session_support import model_metadata, pcm16, speech

SR = 16000


def _events_for(utterance: int, t0: float, t1: float) -> list:
    probs = {"angry": 0.1, "happy": 0.7, "neutral": 0.2}
    return [
        SpeechEvent("start", t0, utterance),
        EmotionEvent(utterance, t0, t1 - 0.5, "happy", "happy", 0.7, probs, final=False),
        SpeechEvent("end", t1, utterance),
        EmotionEvent(utterance, t0, t1, "happy", "happy", 0.7, probs, final=True, latency_ms=42.0),
    ]


def test_round_trip_from_a_pipeline_thread(tmp_path):
    """Audio and events written from a worker thread come back sample-exact and in order."""
    audio = speech(SR)
    block = 512
    metadata = model_metadata()
    settings = {"vad_threshold_db": 9.0, "confidence_threshold": 0.4}
    rec = SessionRecorder(tmp_path, SR, "Built-in Mic", metadata, settings, flush_interval=0.2)
    folder = rec.start()
    assert folder.parent == tmp_path and folder.name.endswith("_session")
    assert is_being_recorded(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "recording"

    origin = 100.0  # recording started while the pipeline had already been listening 100 s
    written_events = []

    def worker():
        for i, start in enumerate(range(0, audio.size, block)):
            chunk = audio[start : start + block]
            rec.write_audio(chunk, origin + start / SR)
            if i % 100 == 99:
                t = origin + start / SR
                for ev in _events_for(i, t - 2.0, t):
                    rec.write_event(ev)
                    written_events.append(ev)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    rec.stop()
    assert rec.error is None
    assert not is_being_recorded(folder)
    assert abs(rec.duration - audio.size / SR) < 1e-9

    session = Session.open(folder)
    assert session.status == "complete" and session.warnings == []
    assert session.manifest["format"] == FORMAT_NAME and session.manifest["version"] == FORMAT_VERSION
    assert session.manifest["device"] == "Built-in Mic"
    assert session.manifest["settings"] == settings
    assert session.manifest["model"]["version"] == metadata.model_version
    assert session.manifest["model"]["metadata"]["labels"] == metadata.labels
    assert session.manifest["stream_time_origin"] == origin
    assert session.manifest["events_count"] == len(written_events)
    assert abs(session.duration - audio.size / SR) < 1e-9

    stored, rate = sf.read(session.audio_path, dtype="int16")
    assert rate == SR
    np.testing.assert_array_equal(stored, pcm16(audio))

    # Event times are moved from stream time to positions in the audio file.
    assert len(session.events) == len(written_events)
    for got, sent in zip(session.events, written_events):
        assert type(got) is type(sent)
        assert got.utterance_id == sent.utterance_id
        if isinstance(sent, EmotionEvent):
            assert abs(got.start - (sent.start - origin)) < 1e-6
            assert got.probabilities == sent.probabilities and got.final == sent.final
        else:
            assert abs(got.time - (sent.time - origin)) < 1e-6
    assert len(session.final_emotions) == len(written_events) // 4
    assert repair(folder).repaired is False  # a complete session needs nothing


def test_files_are_readable_while_recording(tmp_path):
    """Within about a second, what was handed over is on disk with a valid header."""
    audio = speech(SR)[: 3 * SR]
    rec = SessionRecorder(tmp_path, SR, "mic", None, None, flush_interval=0.25)
    folder = rec.start()
    rec.write_audio(audio, 0.0)
    rec.write_event(StatusEvent("info", "listening", 0.0))
    time.sleep(1.0)
    session = Session.open(folder)  # a second reader, while the writer still owns the files
    assert session.interrupted  # status still "recording"
    # a session browser in the recording process itself lists it as being recorded (the lock is live)
    assert summarize(folder).status == "recording"
    assert abs(session.duration - 3.0) < 1e-9
    assert [e.message for e in session.events] == ["listening"]
    stored, _ = sf.read(session.audio_path, dtype="int16")
    np.testing.assert_array_equal(stored, pcm16(audio))
    rec.stop()
    assert Session.open(folder).status == "complete" == summarize(folder).status


def test_a_16_bit_recording_is_stored_bit_for_bit(tmp_path, data):
    """A session's audio is what was analysed: replaying it, or ``analyze SESSION``, gives the same
    results. Stored at 32767 per full scale, read back at 32768, 16-bit input came back changed by
    one step in places (183 samples of a 30-minute replay; 5 of its 384 confidences moved)."""
    from realtime_ser.audio.io import load_audio

    original, rate = sf.read(data / "crema-d-samples" / "ANG.wav", dtype="int16")
    assert rate == SR and original.ndim == 1
    full_scale = np.array([-32768, 32767, -1, 1, 0], dtype=np.int16)  # the extremes too
    original = np.concatenate([original, full_scale])
    source = tmp_path / "in.wav"
    sf.write(source, original, SR, subtype="PCM_16")
    audio = load_audio(source, SR)  # the float samples the pipeline analyses and hands over
    rec = SessionRecorder(tmp_path / "sessions", SR, "in.wav", None, None)
    folder = rec.start()
    for start in range(0, audio.size, 320):
        rec.write_audio(audio[start:start + 320], start / SR)
    rec.stop()
    stored, _ = sf.read(Session.open(folder).audio_path, dtype="int16")
    np.testing.assert_array_equal(stored, original)
    assert np.array_equal(load_audio(Session.open(folder).audio_path, SR), audio)


def test_an_event_before_the_first_audio_is_timed_from_the_recording_start(tmp_path):
    """Record pressed between the pipeline's audio and its events: an event reached the recorder
    before any audio, and was stored in the stream's own times, while the rest of its utterance
    was stored from the recording's start (start 1.0 beside start -0.5 for one utterance).
    Both are now the recording's first sample: an utterance is cut where the recording begins."""
    rec = SessionRecorder(tmp_path, SR, "mic", None, None)
    folder = rec.start()
    rec.write_event(SpeechEvent("start", 1.0, 1))
    rec.write_audio(speech(SR)[:SR], 1.5)  # the recording starts at stream time 1.5
    rec.write_event(_events_for(1, 1.0, 2.0)[-1])
    rec.stop()
    events = Session.open(folder).events
    assert [type(e).__name__ for e in events] == ["SpeechEvent", "EmotionEvent"]
    assert events[0].time == events[1].start == 0.0


def test_write_calls_never_block_and_are_no_ops_outside_a_recording(tmp_path):
    rec = SessionRecorder(tmp_path, SR, None, None, None, max_queue_seconds=1.0)
    rec.write_audio(np.zeros(1600, np.float32))  # before start: ignored
    rec.write_event(StatusEvent("info", "x", 0.0))
    folder = rec.start()
    t0 = time.perf_counter()
    for _ in range(400):  # 40 s of audio at once: more than the queue bound of 1 s may be refused
        rec.write_audio(np.full(1600, 0.1, np.float32), None)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"400 write_audio calls took {elapsed:.3f} s"
    rec.write_event({"not": "an event"})  # junk events are skipped, not fatal
    rec.write_event(object())
    rec.stop()
    rec.write_audio(np.zeros(1600, np.float32))  # after stop: ignored, no exception
    assert rec.error is None
    session = Session.open(folder)
    assert rec.dropped_samples + round(session.duration * SR) == 400 * 1600
    assert session.manifest["dropped_samples"] == rec.dropped_samples
    assert session.warnings == [] and session.events == []  # the junk was never written


def test_several_sessions_get_distinct_folders(tmp_path):
    folders = []
    for _ in range(3):
        rec = SessionRecorder(tmp_path, SR, None, None, None)
        folders.append(rec.start())
        rec.stop()
    assert len(set(folders)) == 3
    assert find_sessions(tmp_path) == sorted(folders)
    assert all(is_session_folder(f) for f in folders)
    assert not is_session_folder(tmp_path)


def test_discard_removes_only_a_session_nothing_reached(tmp_path):
    """An input that could not open right after the start leaves no empty session behind;
    a session with any audio or event in it is kept, finished as stop() finishes it."""
    (tmp_path / "empty").mkdir()  # the user's own folder: it stays
    empty = SessionRecorder(tmp_path / "empty", SR, "mic", model_metadata(), {})
    folder = empty.start()
    assert empty.discard() is True
    assert not folder.exists() and list((tmp_path / "empty").iterdir()) == [] and empty.folder is None
    assert SessionRecorder(tmp_path / "never", SR).discard() is False  # never started: nothing to remove
    new = SessionRecorder(tmp_path / "new" / "sessions", SR)  # folders made for it go with it
    new.start()
    assert new.discard() is True and not (tmp_path / "new").exists()
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    with pytest.raises(SessionError, match="notes.txt: is a file, not a folder for sessions"):
        SessionRecorder(afile, SR).start()
    assert afile.read_text() == "mine"

    audio, events = SessionRecorder(tmp_path / "audio", SR), SessionRecorder(tmp_path / "events", SR)
    kept = [audio.start(), events.start()]
    audio.write_audio(speech(SR)[:1600], 0.0)
    events.write_event(StatusEvent("info", "listening", 0.0))
    assert audio.discard() is False and events.discard() is False
    sessions = [Session.open(f) for f in kept]
    assert [s.status for s in sessions] == ["complete", "complete"]
    assert [round(s.duration * SR) for s in sessions] == [1600, 0]
    assert [len(s.events) for s in sessions] == [0, 1]


def test_lost_audio_becomes_silence_so_event_times_stay_aligned(tmp_path):
    """An overrun upstream (stream time jumps ahead) is filled with silence; a seek back re-anchors."""
    audio = speech(SR)[: 4 * SR]
    rec = SessionRecorder(tmp_path, SR, None, None, None)
    folder = rec.start()
    rec.write_audio(audio[: SR], 50.0)
    rec.write_audio(audio[SR : 2 * SR], 51.5)  # 0.5 s lost before this block
    rec.write_event(SpeechEvent("start", 52.0, 1))  # 0.5 s into the second block
    rec.write_audio(audio[2 * SR : 3 * SR], 10.0)  # replay seeked back: re-anchor, no silence
    rec.write_event(SpeechEvent("end", 10.25, 1))
    rec.stop()
    session = Session.open(folder)
    assert session.manifest["gap_samples"] == SR // 2
    stored, _ = sf.read(session.audio_path, dtype="int16")
    expected = np.concatenate([pcm16(audio[:SR]), np.zeros(SR // 2, np.int16), pcm16(audio[SR : 3 * SR])])
    np.testing.assert_array_equal(stored, expected)
    start, end = session.events
    assert start.time == 2.0 and stored[int(start.time * SR)] == pcm16(audio[SR + SR // 2 : SR + SR // 2 + 1])[0]
    assert end.time == 2.75


def test_a_seek_forward_goes_on_without_silence(tmp_path):
    """A replay sought forward while recorded looked like lost audio to the recorder, which filled up
    to ten minutes of the jump with silence; told of the seek, it goes on from there."""
    audio = speech(SR)[: 2 * SR]
    rec = SessionRecorder(tmp_path, SR, None, None, None)
    folder = rec.start()
    rec.write_audio(audio[:SR], 5.0)
    rec.write_seek()  # the replay jumped from 6 s to 80 s
    rec.write_audio(audio[SR:], 80.0)
    rec.write_event(SpeechEvent("start", 80.25, 1))
    rec.write_audio(audio[:SR], 82.0)  # 1 s lost after the seek: still filled, as any lost audio
    rec.stop()
    session = Session.open(folder)
    stored, _ = sf.read(session.audio_path, dtype="int16")
    np.testing.assert_array_equal(stored, np.concatenate([pcm16(audio), np.zeros(SR, np.int16), pcm16(audio[:SR])]))
    assert session.manifest["gap_samples"] == SR
    # the utterance's start where its audio is; its end where the recording ends (Record released in it)
    assert [(e.kind, e.time) for e in session.events] == [("start", 1.25), ("end", 4.0)]


def test_replay_timeline_now_and_reanalysis_with_the_current_model(tmp_path):
    """A session recorded from the live path replays its stored timeline, and re-analysis of
    its audio through the same path with the bundled model gives the same final results."""
    from realtime_ser.audio.file_source import FileSource
    from realtime_ser.model.emotion_model import EmotionModel
    from realtime_ser.pipeline.worker import Pipeline
    from session_support import crema_clips

    model = EmotionModel.load()
    source = FileSource(crema_clips()[3], realtime=True, speed=50.0)
    pipeline = Pipeline(source, model)
    rec = SessionRecorder(tmp_path, SR, source.name, model, {"speed": 50})
    folder = rec.start()
    pipeline.add_audio_listener(rec.write_audio)
    pipeline.add_event_listener(rec.write_event)
    pipeline.start()
    assert pipeline.wait(30)
    pipeline.stop()
    rec.stop()
    session = Session.open(folder)
    live = session.final_emotions
    assert live, "the clip produced no result"
    again = [e for e in session.reanalyze(model) if e.type == "emotion"]
    assert [(e.start, e.end, e.top_label) for e in again] == [(e.start, e.end, e.top_label) for e in live]
    for a, b in zip(again, live):
        assert abs(a.confidence - b.confidence) < 1e-3


def test_a_session_can_be_named_while_it_is_recorded(tmp_path):
    """The title reaches the manifest at once (a crash keeps it) and survives the final manifest."""
    audio = speech(SR)
    rec = SessionRecorder(tmp_path, SR, "mic", model_metadata(), {}, flush_interval=0.2)
    folder = rec.start()
    rec.write_audio(audio[: SR // 2], 0.0)
    assert rec.set_title("  P07\tbaseline ") == "P07 baseline"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["title"] == "P07 baseline" and manifest["status"] == "recording"
    assert Session.open(folder).title == "P07 baseline"
    for event in _events_for(1, 0.1, 0.4):
        rec.write_event(event)
    rec.write_audio(audio[SR // 2 : SR], 0.5)
    assert rec.set_title("P07 baseline, take 2") == "P07 baseline, take 2"
    assert rec.stop() == folder
    session = Session.open(folder)
    assert session.status == "complete" and session.title == "P07 baseline, take 2"
    assert session.duration == 1.0 and len(session.events) == 4  # the renames cost nothing recorded
    assert summarize(folder).title == "P07 baseline, take 2"
    assert rec.set_title("") is None  # after the stop it still names the finished session
    assert Session.open(folder).title is None and Session.open(folder).status == "complete"


def test_naming_needs_a_session_being_recorded(tmp_path):
    rec = SessionRecorder(tmp_path, SR, "mic", model_metadata(), {}, flush_interval=0.2)
    with pytest.raises(SessionError, match="^no session is being recorded$"):
        rec.set_title("too early")
    assert not any(tmp_path.iterdir())


def test_sessions_of_the_same_minute_are_told_apart_by_their_seconds(tmp_path):
    """``realtime-ser sessions`` and the app's browser show the start to the second, as they sort:
    to the minute, two sessions started in the same minute looked alike."""
    from datetime import datetime

    from realtime_ser.session.catalog import catalog

    folders = []
    for _ in range(3):
        rec = SessionRecorder(tmp_path, SR, "mic", model_metadata(), {})
        folders.append(rec.start())
        rec.write_audio(speech(SR)[:1600], 0.0)
        rec.stop()
    recorded = Session.open(folders[0]).manifest["started"]  # as the recorder writes it
    assert summarize(folders[0]).started_short == datetime.fromisoformat(recorded).strftime("%Y-%m-%d %H:%M:%S")
    for folder, started in zip(folders, ["2026-11-24T05:41:33.250+01:00", "2026-11-24T05:41:07.900+01:00",
                                         "Tuesday morning"]):
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), started=started)))
    summaries, errors = catalog(tmp_path)
    assert errors == []
    shown = {s.folder: s.started_short for s in summaries}
    assert [shown[str(f)] for f in folders] == ["2026-11-24 05:41:33", "2026-11-24 05:41:07", "?"]


def test_record_pressed_and_released_mid_utterance_keeps_whole_utterances(tmp_path):
    """The pipeline listens on while Record is pressed and released. An utterance that began before
    the recording used to be stored with negative times and no start; one still open at its end
    with a start and partials but no end or final result, so the session's summary left it out."""
    from realtime_ser.model.emotion_model import EmotionModel
    from realtime_ser.pipeline.processor import StreamProcessor

    model = EmotionModel.load()
    audio = speech(SR)
    block = 320

    def listen(on_block):
        processor = StreamProcessor(model)
        for i in range(0, audio.size, block):
            on_block(audio[i:i + block], i / SR, processor.feed(audio[i:i + block]))

    live = []
    listen(lambda _b, _t, events: live.extend(events))
    spans = [(e.start, e.end) for e in live if e.type == "emotion" and e.final]
    assert len(spans) >= 3, "the clips gave too few utterances for this test"
    t_on = (spans[0][0] + spans[0][1]) / 2  # Record pressed in the first utterance ...
    t_off = spans[-1][0] + 0.8 * (spans[-1][1] - spans[-1][0])  # ... released late in the last
    rec = SessionRecorder(tmp_path, SR, "mic", model, None)
    folder = rec.start()

    def record(b, t, events):
        if t_on <= t < t_off:
            rec.write_audio(b, t)
            for event in events:
                rec.write_event(event)

    listen(record)
    rec.stop()
    session = Session.open(folder)
    utterances: dict[int, list] = {}
    for event in session.events:
        if event.type in ("speech", "emotion"):
            utterances.setdefault(event.utterance_id, []).append(event)
    assert len(utterances) == len(spans)
    for uid, events in utterances.items():
        kinds = [e.kind if e.type == "speech" else ("final" if e.final else "partial") for e in events]
        assert kinds[0] == "start" and kinds[-2:] == ["end", "final"] and kinds.count("final") == 1, (uid, kinds)
        times = [t for e in events for t in ((e.time,) if e.type == "speech" else (e.start, e.end))]
        assert 0.0 <= min(times) and max(times) <= session.duration + 1e-6, (uid, times)
    first, last = utterances[min(utterances)], utterances[max(utterances)]
    assert first[0].time == 0.0  # cut at the recording's first sample
    assert first[-1].top_label == [e for e in live if e.type == "emotion" and e.final][0].top_label
    assert last[-2].time == pytest.approx(session.duration, abs=1e-6)  # cut at its last sample
    last_partial = [e for e in last if e.type == "emotion" and not e.final][-1]
    assert last[-1].probabilities == last_partial.probabilities  # the last estimate shown live
    assert summarize(folder).utterances == len(spans)


def test_an_utterance_ending_just_after_record_was_pressed_gets_its_start(tmp_path):
    """Its first event in the recording is its end (no partial came between): a start at 0 goes first."""
    rec = SessionRecorder(tmp_path, SR, "mic", None, None)
    folder = rec.start()
    rec.write_audio(speech(SR)[:SR], 10.0)  # the recording starts at stream time 10
    for event in _events_for(4, 8.0, 10.4)[2:]:  # the end at 10.4 s, then the final result
        rec.write_event(event)
    for event in _events_for(5, 10.6, 10.9):  # and one recorded whole
        rec.write_event(event)
    rec.stop()
    events = Session.open(folder).events
    assert [(e.type, e.kind if e.type == "speech" else e.final, e.utterance_id) for e in events] == [
        ("speech", "start", 4), ("speech", "end", 4), ("emotion", True, 4),
        ("speech", "start", 5), ("emotion", False, 5), ("speech", "end", 5), ("emotion", True, 5)]
    assert events[0].time == events[2].start == 0.0 and events[1].time == pytest.approx(0.4)
