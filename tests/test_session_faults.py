"""Recording under real faults: a full filesystem, a file size limit, the folder deleted.

In every case recording stops with a one-line ``.error``, nothing raises into
the thread feeding the recorder, and what was written opens and is exact.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from realtime_ser.errors import SessionError
from realtime_ser.pipeline.events import SpeechEvent
from realtime_ser.session import Session, SessionRecorder
from session_support import pcm16, speech

SR = 16000
TESTS = Path(__file__).resolve().parent


class Feeder(threading.Thread):
    """Stands in for the pipeline worker: feeds real speech, must never see an exception."""

    def __init__(self, rec: SessionRecorder, audio: np.ndarray, pace: float):
        super().__init__(daemon=True)
        self.rec, self.audio, self.pace = rec, audio, pace
        self.failure: BaseException | None = None
        self.handed = 0
        self.done = threading.Event()

    def run(self) -> None:
        try:
            for i, start in enumerate(range(0, self.audio.size, 1600)):
                self.rec.write_audio(self.audio[start : start + 1600], start / SR)
                self.rec.write_event(SpeechEvent("start" if i % 2 == 0 else "end", start / SR, i // 2))
                self.handed = min(start + 1600, self.audio.size)
                time.sleep(self.pace)
        except BaseException as exc:  # noqa: BLE001 - the point is that nothing gets here
            self.failure = exc
        self.done.set()


def _wait_for_error(rec: SessionRecorder, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while rec.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rec.error is not None, "recording did not stop"
    return rec.error


def _check_valid_prefix(folder: Path, audio: np.ndarray, status: str) -> Session:
    session = Session.open(folder)
    assert session.status == status
    assert session.warnings == []
    with sf.SoundFile(session.audio_path) as f:
        stored = f.read(dtype="int16")
    assert stored.size >= SR, "less than a second was kept"
    np.testing.assert_array_equal(stored, pcm16(audio[: stored.size]))
    assert all(e.type == "speech" for e in session.events) and session.events
    # The manifest describes what was kept, not what was handed over before the failure.
    assert session.manifest["duration"] == pytest.approx(stored.size / SR, abs=1e-6)
    assert session.manifest["events_count"] == len(session.events)
    return session


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True)
    return result.returncode == 0


RLIMIT_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    sys.path.insert(0, {tests!r})
    from session_support import speech
    from realtime_ser.pipeline.events import SpeechEvent
    from realtime_ser.session import SessionRecorder

    audio = speech(16000)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    rec = SessionRecorder({parent!r}, 16000, "mic", None, None, flush_interval=0.25)
    folder = rec.start()
    for i, start in enumerate(range(0, audio.size, 1600)):
        rec.write_audio(audio[start:start + 1600], start / 16000)
        rec.write_event(SpeechEvent("start" if i % 2 == 0 else "end", start / 16000, i // 2))
        time.sleep(0.01)
    deadline = time.monotonic() + 20
    while rec.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    rec.write_audio(audio[:1600])  # after the failure: silently ignored
    rec.stop()
    print(json.dumps({{"folder": str(folder), "error": rec.error}}))
    """
)


def _disk_full_via_file_size_limit(parent: Path, audio: np.ndarray) -> None:
    code = RLIMIT_CHILD.format(tests=str(TESTS), parent=str(parent), limit=96 * 1024)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["error"] and "recording stopped: file size limit reached" in result["error"]
    assert "\n" not in result["error"]
    session = _check_valid_prefix(Path(result["folder"]), audio, "stopped")
    assert session.manifest["error"] == result["error"]


def test_disk_full_stops_recording_and_keeps_valid_files(tmp_path):
    """A real full filesystem (a 160 KiB tmpfs) when we may mount one, else a real RLIMIT_FSIZE."""
    audio = speech(SR)
    mount_point = tmp_path / "tiny"
    if not _mount_tmpfs(mount_point, "160k"):
        _disk_full_via_file_size_limit(tmp_path, audio)
        return
    try:
        rec = SessionRecorder(mount_point, SR, "mic", None, {"x": 1}, flush_interval=0.25)
        folder = rec.start()
        feeder = Feeder(rec, audio, pace=0.01)
        feeder.start()
        message = _wait_for_error(rec)
        assert message == f"{folder}: recording stopped: disk full"
        assert not rec.recording
        feeder.join(30)
        assert feeder.failure is None and feeder.handed == audio.size  # listening went on
        rec.stop()
        session = _check_valid_prefix(folder, audio, "stopped")
        assert session.manifest["error"] == message
        assert session.duration < audio.size / SR  # it really did run out of space
        # A new recording on the full disk fails at once, clearly, and leaves no half-made folder.
        before = sorted(mount_point.iterdir())
        with pytest.raises(SessionError, match="No space left on device"):
            SessionRecorder(mount_point, SR, "mic", None, None).start()
        assert sorted(mount_point.iterdir()) == before
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_file_size_limit_stops_recording_and_keeps_valid_files(tmp_path):
    _disk_full_via_file_size_limit(tmp_path, speech(SR))


def _recording_fed(parent: Path, audio: np.ndarray):
    """A recording being fed ``audio`` at a live pace, a second in: (recorder, folder, feeder, errors)."""
    errors = []
    rec = SessionRecorder(parent, SR, "mic", None, None, flush_interval=0.2, on_error=errors.append)
    folder = rec.start()
    feeder = Feeder(rec, audio, pace=0.02)
    feeder.start()
    time.sleep(1.0)
    return rec, folder, feeder, errors


def test_folder_removed_while_recording(tmp_path):
    audio = speech(SR)
    rec, folder, feeder, errors = _recording_fed(tmp_path, audio[: 8 * SR])
    shutil.rmtree(folder)
    message = _wait_for_error(rec, timeout=5.0)
    assert message == f"{folder}: recording stopped: session folder was removed"
    assert errors == [message]  # the callback fired once
    feeder.join(30)
    assert feeder.failure is None and feeder.handed == 8 * SR
    rec.stop()
    assert not folder.exists()  # nothing was recreated behind the user's back


def test_a_folder_renamed_while_recording_is_followed(tmp_path):
    """Naming a session folder mid-recording ("P07 baseline") stopped the recording as if the folder
    were removed, and left it unfinished: the rest of the session was lost. (Where it went is read
    from Linux's /proc: CI runs on Linux.)"""
    audio = speech(SR)
    rec, folder, feeder, errors = _recording_fed(tmp_path, audio[: 6 * SR])
    renamed = tmp_path / "P07 baseline"
    folder.rename(renamed)
    feeder.join(30)
    assert feeder.failure is None and feeder.handed == 6 * SR
    assert rec.stop() == renamed and rec.folder == renamed and errors == [] and rec.error is None
    session = Session.open(renamed)
    assert session.status == "complete" and session.duration == pytest.approx(6.0, abs=0.01)
    assert np.allclose(sf.read(renamed / "audio.wav", dtype="float32")[0], pcm16(audio[: 6 * SR]) / 32768.0)
    assert not (renamed / ".recording.lock").exists() and not folder.exists()


def test_unwritable_parent_is_a_one_line_session_error(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    rec = SessionRecorder(not_a_dir, SR, None, None, None)
    with pytest.raises(SessionError, match=r"is a file, not a folder for sessions") as info:
        rec.start()
    assert "\n" not in str(info.value) and str(not_a_dir) in str(info.value)
    inside = SessionRecorder(not_a_dir / "sessions", SR, None, None, None)
    with pytest.raises(SessionError, match=r"cannot create a session folder \(Not a directory\)") as info:
        inside.start()
    assert "\n" not in str(info.value) and not_a_dir.read_text() == "x"


OPEN_UTTERANCE_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    sys.path.insert(0, {tests!r})
    from session_support import speech
    from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent
    from realtime_ser.session import SessionRecorder

    audio = speech(16000)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    rec = SessionRecorder({parent!r}, 16000, "mic", None, None, flush_interval=0.25)
    folder = rec.start()
    rec.write_event(SpeechEvent("start", 0.0, 1))  # one utterance that goes on past the limit
    for i, start in enumerate(range(0, audio.size, 1600)):
        rec.write_audio(audio[start:start + 1600], start / 16000)
        if i % 5 == 4:
            t = (start + 1600) / 16000
            rec.write_event(EmotionEvent(1, 0.0, t, "sad", "sad", 0.6, {{"sad": 0.6, "neutral": 0.4}}, False))
        time.sleep(0.01)
    deadline = time.monotonic() + 20
    while rec.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    rec.stop()
    print(json.dumps({{"folder": str(folder), "error": rec.error}}))
    """
)


def test_an_utterance_a_full_disk_cut_off_still_ends_where_the_audio_does(tmp_path):
    """A recording stopped by the file size limit (or a full disk, where the few bytes still fit) left
    its last utterance open: a start and partial results, no end and no final result."""
    code = OPEN_UTTERANCE_CHILD.format(tests=str(TESTS), parent=str(tmp_path), limit=96 * 1024)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "recording stopped: file size limit reached" in result["error"]
    session = Session.open(result["folder"])
    assert session.status == "stopped" and session.warnings == []
    kinds = [e.kind if e.type == "speech" else ("final" if e.final else "partial") for e in session.events]
    assert kinds[0] == "start" and kinds[-2:] == ["end", "final"] and kinds.count("partial") >= 2
    assert session.events[-2].time == pytest.approx(session.duration, abs=1e-6)
    assert session.events[-1].probabilities == session.events[-3].probabilities  # the last estimate
    assert session.manifest["events_count"] == len(session.events)
