"""Killed recorders: a real subprocess is SIGKILLed mid-session, then the session is repaired."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime_ser.session import Session, SessionRecorder, is_being_recorded, repair, repair_interrupted
from realtime_ser.session.catalog import catalog
from session_support import pcm16, speech

SR = 16000
TESTS = Path(__file__).resolve().parent

# Feeds looped real speech at real-time pace, like a microphone, with an emotion
# event every half second; reports how much it has handed to the recorder.
CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from session_support import model_metadata, speech
    from realtime_ser.pipeline.events import EmotionEvent
    from realtime_ser.session import SessionRecorder

    audio = speech(16000)
    rec = SessionRecorder({parent!r}, 16000, "virtual mic", model_metadata(), {{"vad_threshold_db": 8.0}},
                          flush_interval=0.5, folder_suffix={suffix!r})
    print("folder", rec.start(), flush=True)
    block, n, events, t0 = 800, 0, 0, time.monotonic()
    while True:
        idx = np.arange(n, n + block) % audio.size
        rec.write_audio(audio[idx], n / 16000)
        n += block
        if n % 8000 == 0:
            t = n / 16000
            rec.write_event(EmotionEvent(events, t - 0.5, t, "neutral", "neutral", 0.6,
                                         {{"neutral": 0.6, "sad": 0.4}}, True, 20.0))
            events += 1
        print("handed", n, events, flush=True)
        time.sleep(max(0.0, t0 + n / 16000 - time.monotonic()))
    """
)


def _start_child(parent: Path, suffix: str) -> tuple[subprocess.Popen, Path]:
    code = CHILD.format(tests=str(TESTS), parent=str(parent), suffix=suffix)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline().split()
    assert first[:1] == ["folder"], f"child did not start: {first}"
    return proc, Path(first[1])


def _run_then_kill(proc: subprocess.Popen, seconds: float) -> tuple[int, int]:
    """Read progress until ``seconds`` of audio were handed over, SIGKILL, return the last progress."""
    handed = events = 0
    while handed < seconds * SR:
        line = proc.stdout.readline()
        assert line, "child died on its own"
        _, handed, events = line.split()
        handed, events = int(handed), int(events)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    return handed, events


def _check_recovered(folder: Path, handed: int, events_handed: int, looped: np.ndarray) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "recovered", manifest["status"]
    assert manifest["repair_notes"]
    with sf.SoundFile(folder / "audio.wav") as f:  # the header is valid again
        assert f.samplerate == SR and f.channels == 1
        stored = f.read(dtype="int16")
    # Everything up to about the last second is there, and it is exactly what was sent.
    assert handed - 1.25 * SR <= stored.size <= handed + 0.5 * SR, (stored.size, handed)
    np.testing.assert_array_equal(stored, pcm16(looped[: stored.size]))
    session = Session.open(folder)
    assert session.warnings == []
    assert abs(session.duration - stored.size / SR) < 1e-9
    assert manifest["events_count"] == len(session.events)
    assert events_handed - 3 <= len(session.events) <= events_handed + 1
    assert [e.utterance_id for e in session.events] == list(range(len(session.events)))
    assert not (folder / ".recording.lock").exists()


def _statuses(parent: Path) -> dict[Path, str]:
    """What ``realtime-ser sessions`` and the session browser show as each session's status."""
    summaries, errors = catalog(parent)
    assert errors == []
    return {Path(s.folder): s.status for s in summaries}


def test_sigkilled_recorders_are_detected_and_repaired(tmp_path):
    audio = speech(SR)
    looped = audio[np.arange(12 * SR) % audio.size]
    proc_a, folder_a = _start_child(tmp_path, "a")
    proc_b, folder_b = _start_child(tmp_path, "b")
    try:
        handed_a, events_a = _run_then_kill(proc_a, 3.3)
        assert is_being_recorded(folder_b) and not is_being_recorded(folder_a)
        # listed for what they are before any repair: A's recorder is dead, B's is alive
        assert _statuses(tmp_path) == {folder_a: "interrupted", folder_b: "recording"}

        reports = repair_interrupted(tmp_path)  # B is alive: only A is touched
        assert [r.folder for r in reports] == [folder_a] and reports[0].repaired, reports
        assert json.loads((folder_b / "manifest.json").read_text())["status"] == "recording"
        _check_recovered(folder_a, handed_a, events_a, looped)

        assert _statuses(tmp_path) == {folder_a: "recovered", folder_b: "recording"}

        handed_b, events_b = _run_then_kill(proc_b, 5.1)
    finally:
        for proc in (proc_a, proc_b):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert _statuses(tmp_path) == {folder_a: "recovered", folder_b: "interrupted"}
    reports = repair_interrupted(tmp_path)
    assert [r.folder for r in reports] == [folder_b] and reports[0].repaired
    _check_recovered(folder_b, handed_b, events_b, looped)
    assert repair_interrupted(tmp_path) == []  # idempotent


def test_repair_drops_half_written_sample_and_line(tmp_path):
    """The torn writes a power cut can leave: stale header sizes, an odd byte, half a JSON line."""
    folder, _ = _interrupted_session(tmp_path)  # then make it look like the recorder died mid-write
    extra = pcm16(speech(SR)[2 * SR : 3 * SR]).tobytes()
    with open(folder / "audio.wav", "ab") as f:
        f.write(extra + b"\x01")  # one more second the header does not know about, plus half a sample
    with open(folder / "events.jsonl", "ab") as f:
        f.write(b'{"type":"speech","kind":"start","time":0.5,"utterance_id":0}\n{"type":"emo')
    session = Session.open(folder)  # readable before repair, with the problems named
    assert session.interrupted and len(session.warnings) == 2
    assert "incomplete last line" in session.warnings[1]
    assert session.warnings[0] == (  # what to do: there is no repair command to run
        f"{folder / 'audio.wav'}: header is out of date (16000 frames not in it, left out until repaired); the app, "
        "or listen --record into the folder that holds the session, repairs it when it starts")

    report = repair(folder)
    assert report.repaired and "fixed the audio header" in report.summary()
    session = Session.open(folder)
    assert session.status == "recovered" and session.warnings == []
    assert abs(session.duration - 3.0) < 1e-9
    # the utterance the cut interrupted ends where the audio does, as a stopped recording ends it
    assert [(e.kind, e.time, e.utterance_id) for e in session.events] == [("start", 0.5, 0), ("end", 3.0, 0)]
    assert "ended 1 utterance(s) the interruption cut off at 3.0 s" in report.summary()
    assert session.manifest["events_count"] == 2
    stored, _ = sf.read(session.audio_path, dtype="int16")
    np.testing.assert_array_equal(stored, pcm16(speech(SR)[: 3 * SR]))
    assert (folder / "events.jsonl").read_bytes().endswith(b"}\n")


def test_repair_interrupted_reports_unrepairable_folders_and_goes_on(tmp_path):
    good = SessionRecorder(tmp_path, SR, None, None, None)
    good_folder = good.start()
    good.write_audio(speech(SR)[:SR])
    good.stop()
    broken = SessionRecorder(tmp_path, SR, None, None, None)
    broken_folder = broken.start()
    broken.stop()
    for folder in (good_folder, broken_folder):
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["status"] = "recording"
        (folder / "manifest.json").write_text(json.dumps(manifest))
    (broken_folder / "audio.wav").write_bytes(b"this is not a wav file at all, but long enough" * 3)
    (tmp_path / "not-a-session").mkdir()
    reports = {r.folder: r for r in repair_interrupted(tmp_path)}
    assert reports[good_folder].repaired
    assert not reports[broken_folder].repaired
    assert "not a RIFF/WAVE file" in reports[broken_folder].summary()
    assert os.path.exists(broken_folder / "audio.wav")  # nothing deleted


def _interrupted_session(parent: Path, seconds: float = 2.0) -> tuple[Path, np.ndarray]:
    """A stopped session made to look interrupted (manifest back to "recording"); its audio as int16."""
    audio = speech(SR)[: int(seconds * SR)]
    rec = SessionRecorder(parent, SR, "mic", None, None)
    folder = rec.start()
    rec.write_audio(audio, 0.0)
    rec.stop()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["status"] = "recording"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, pcm16(audio)


def test_the_recorders_header_is_the_one_repair_rebuilds(tmp_path):
    from realtime_ser.session.format import recorder_wav_header

    folder, pcm = _interrupted_session(tmp_path)
    assert (folder / "audio.wav").read_bytes()[:44] == recorder_wav_header(SR, pcm.nbytes)


def test_repair_rebuilds_a_damaged_audio_header_and_keeps_the_audio(tmp_path):
    """A header with damaged bytes (a power cut can leave a file's first block zeroed) made the session
    unrepairable: it stayed "recording", and its audio could not be opened by anything."""
    for damage in ("zeroed", "bytes changed", "sample rate changed"):
        folder, pcm = _interrupted_session(tmp_path / damage)
        with open(folder / "audio.wav", "r+b") as f:
            if damage == "zeroed":
                f.write(bytes(44))
            elif damage == "bytes changed":  # the RIFF tag and the format fields
                f.write(b"RIFX")
                f.seek(20)
                f.write(b"\xff" * 8)
            else:  # still reads as WAV, at 16,256 Hz: the session would play too fast
                f.seek(25)
                f.write(b"\x3f")
        report = repair(folder)
        assert report.repaired, report.summary()
        assert f"rebuilt the damaged audio header (16-bit mono at {SR} Hz, as recorded)" in report.summary()
        session = Session.open(folder)
        assert session.status == "recovered" and session.warnings == [] and abs(session.duration - 2.0) < 1e-9
        stored, rate = sf.read(session.audio_path, dtype="int16")
        assert rate == SR
        np.testing.assert_array_equal(stored, pcm)


def test_repair_does_not_overwrite_another_formats_file(tmp_path):
    """Only the recorder's own header is rebuilt: a FLAC file put in the audio file's place is left as it is."""
    folder, _ = _interrupted_session(tmp_path)
    flac = tmp_path / "clip.flac"
    sf.write(flac, speech(SR)[:SR], SR)
    (folder / "audio.wav").write_bytes(flac.read_bytes())
    report = repair_interrupted(tmp_path)[0]
    assert not report.repaired and "not a RIFF/WAVE file" in report.summary()
    assert (folder / "audio.wav").read_bytes() == flac.read_bytes()


def test_repair_writes_an_empty_recording_for_a_missing_or_headerless_audio_file(tmp_path):
    """A recorder killed before its first header reached the disk: the session opens, with no audio."""
    for damage in ("missing", "short"):
        folder, _ = _interrupted_session(tmp_path / damage)
        if damage == "missing":
            (folder / "audio.wav").unlink()
        else:
            (folder / "audio.wav").write_bytes(b"RIFF")
        report = repair(folder)
        assert report.repaired and "audio file was missing or had no header: wrote an empty one" in report.summary()
        session = Session.open(folder)
        assert session.status == "recovered" and session.duration == 0.0 and session.warnings == []
        assert sf.info(session.audio_path).samplerate == SR
