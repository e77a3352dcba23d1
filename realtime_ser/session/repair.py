"""Finishing sessions whose recorder was killed (SIGKILL, crash, power cut).

Such a session still says ``"recording"`` in its manifest while no process holds
its lock.  Repair makes it open like any other session: the WAV header's sizes
are set from the audio actually on disk (dropping a half-written sample; a header
whose bytes were damaged is written anew, from the manifest's sample rate), the
event log is cut after its last complete line, and the manifest is marked
``"recovered"`` with notes on what was done.  Nothing that was written whole is
thrown away.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from realtime_ser.errors import SessionError
from realtime_ser.session.format import (
    LOCK_NAME,
    RECORDER_HEADER_BYTES,
    STATUS_RECORDING,
    STATUS_RECOVERED,
    find_wav_data_chunk,
    fix_wav_header,
    is_damaged_recorder_header,
    read_manifest,
    recorder_wav_header,
    rewrite_recorder_header,
    truncate_to_last_line,
    write_json_atomic,
    MANIFEST_NAME,
)
from realtime_ser.session.reader import find_sessions, parse_event_lines
from realtime_ser.session.utterance_edges import end_cut_off_utterances

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


@dataclass
class RepairReport:
    """What :func:`repair` found and did to one session folder."""

    folder: Path
    repaired: bool
    actions: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        if self.error:
            return f"{self.folder}: could not repair ({self.error})"
        if not self.repaired:
            return f"{self.folder}: nothing to repair"
        return f"{self.folder}: recovered ({'; '.join(self.actions)})"


def is_being_recorded(folder: str | os.PathLike) -> bool:
    """True if a live recorder (in any process) holds this session's lock."""
    lock_path = Path(folder) / LOCK_NAME
    if fcntl is None or not lock_path.exists():
        return False
    try:
        with open(lock_path, "r") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def _header_damaged(audio_path: Path, sample_rate: int) -> bool:
    """True when the audio file is the recorder's with a damaged header (its audio intact after it): one that
    no longer reads as WAV, or reads with a format other than the manifest's (a changed sample rate would
    play the session at the wrong speed).  Raises ValueError for anything else: that is not "fixed"."""
    with open(audio_path, "rb") as f:
        head = f.read(RECORDER_HEADER_BYTES)
        try:
            data_offset = find_wav_data_chunk(f)[0]
        except ValueError:
            if is_damaged_recorder_header(head):
                return True
            raise
    expected = recorder_wav_header(sample_rate)
    return data_offset == RECORDER_HEADER_BYTES and head[8:36] != expected[8:36]


def needs_repair(folder: str | os.PathLike) -> bool:
    """The manifest says "recording" and no recorder is alive: it was interrupted."""
    try:
        manifest = read_manifest(Path(folder))
    except SessionError:
        return False
    return manifest["status"] == STATUS_RECORDING and not is_being_recorded(folder)


def repair(folder: str | os.PathLike) -> RepairReport:
    """Repair one interrupted session in place (a finished one is left untouched).

    Raises SessionError (one line) when the folder is not a usable session or a
    recorder is still writing it.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["status"] != STATUS_RECORDING:
        return RepairReport(folder, repaired=False)
    if is_being_recorded(folder):
        raise SessionError(f"{folder}: is still being recorded; stop that recorder first")
    actions: list[str] = []
    audio_path = folder / manifest["audio_file"]
    rate = manifest["sample_rate"]
    try:
        if not audio_path.exists() or audio_path.stat().st_size < 44:
            audio_path.write_bytes(recorder_wav_header(rate))  # the recorder's header, no audio
            actions.append("audio file was missing or had no header: wrote an empty one")
            frames = 0
        else:
            if _header_damaged(audio_path, rate):  # raises ValueError for something that is not our WAV file
                rewrite_recorder_header(audio_path, rate)
                actions.append(f"rebuilt the damaged audio header (16-bit mono at {rate} Hz, as recorded)")
            frames, changed = fix_wav_header(audio_path)
            if changed:
                actions.append("fixed the audio header")
    except ValueError as exc:
        raise SessionError(f"{audio_path}: cannot repair session audio ({exc})") from None
    except OSError as exc:
        raise SessionError(f"{audio_path}: cannot repair session audio ({exc.strerror})") from None

    events_path = folder / manifest["events_file"]
    events_count = 0
    try:
        if events_path.exists():
            removed = truncate_to_last_line(events_path)
            if removed:
                actions.append(f"dropped an incomplete last event line ({removed} bytes)")
            with open(events_path, "rb") as f:
                events, warnings = parse_event_lines(f, str(events_path))
            events_count = len(events)
            actions.extend(w.split(": ", 1)[1] for w in warnings)
            ended = end_cut_off_utterances(events_path, frames / rate)
            if ended:
                with open(events_path, "rb") as f:
                    events_count = len(parse_event_lines(f, str(events_path))[0])
                actions.append(f"ended {len(ended)} utterance(s) the interruption cut off at {frames / rate:.1f} s")
        else:
            events_path.touch()
            actions.append("event log was missing: created an empty one")
    except OSError as exc:
        raise SessionError(f"{events_path}: cannot repair event log ({exc.strerror})") from None

    actions.append(f"kept {frames / rate:.1f} s of audio and {events_count} events")
    manifest.update(
        status=STATUS_RECOVERED,
        duration=round(frames / rate, 6),
        events_count=events_count,
        recovered=_dt.datetime.now().astimezone().isoformat(timespec="milliseconds"),
        repair_notes=actions,
    )
    try:
        write_json_atomic(folder / MANIFEST_NAME, manifest)
    except OSError as exc:
        raise SessionError(f"{folder / MANIFEST_NAME}: cannot update manifest ({exc.strerror})") from None
    try:
        (folder / LOCK_NAME).unlink()
    except OSError:
        pass
    return RepairReport(folder, repaired=True, actions=actions)


def repair_interrupted(parent_dir: str | os.PathLike) -> list[RepairReport]:
    """Repair every interrupted session directly inside ``parent_dir`` (call on program start).

    Never raises for one bad folder: its report carries the error instead.
    Sessions being recorded right now, and finished ones, are left alone.
    """
    reports = []
    for folder in find_sessions(parent_dir):
        if not needs_repair(folder):
            continue
        try:
            reports.append(repair(folder))
        except SessionError as exc:
            reports.append(RepairReport(folder, repaired=False, error=str(exc)))
    return reports
