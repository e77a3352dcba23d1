"""Opening a recorded session: manifest, event timeline and audio file.

The stored timeline is available at once (no re-analysis); re-analysing means
feeding :attr:`Session.audio_path` through the normal file path
(``FileSource`` / ``Pipeline`` or ``realtime-ser analyze``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from realtime_ser.errors import SessionError
from realtime_ser.jsonfile import is_finite_number
from realtime_ser.pipeline.events import PipelineEvent, current_markers, event_from_dict, highest_marker_id
from realtime_ser.session.format import (
    MANIFEST_NAME,
    SESSION_FOLDER_NAME,
    STATUS_RECORDING,
    find_wav_data_chunk,
    read_manifest,
)
from realtime_ser.session.utterance_edges import closing_lines

#: An event line longer than this is garbage, not an event.
MAX_EVENT_LINE_BYTES = 1 << 20


def is_session_folder(path: str | os.PathLike) -> bool:
    """True if ``path`` is a directory with a session manifest (not validated)."""
    p = Path(path)
    return p.is_dir() and (p / MANIFEST_NAME).is_file()


def named_like_session(path: str | os.PathLike) -> bool:
    """True if ``path`` is a directory named as the recorder names sessions (manifest or not)."""
    p = Path(path)
    return SESSION_FOLDER_NAME.fullmatch(p.name) is not None and p.is_dir()


def find_sessions(parent_dir: str | os.PathLike) -> list[Path]:
    """Session folders directly inside ``parent_dir``, oldest first (names start with the time)."""
    parent = Path(parent_dir)
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if is_session_folder(p))


#: No time or value in an event log reaches this (about 30 years of seconds): a line that does is damaged.
_LARGEST = 1e9


def _is_number(value) -> bool:
    return is_finite_number(value) and abs(value) < _LARGEST


#: Field checks per event type: a line that parses but holds the wrong types is as bad as garbage.
_FIELD_CHECKS = {
    "speech": {"kind": lambda v: v in ("start", "end"), "time": _is_number,
               "utterance_id": lambda v: isinstance(v, int) and not isinstance(v, bool)},
    "emotion": {
        "utterance_id": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "start": _is_number, "end": _is_number,
        "label": lambda v: isinstance(v, str), "top_label": lambda v: isinstance(v, str),
        "confidence": _is_number,
        "probabilities": lambda v: isinstance(v, dict)
        and all(isinstance(k, str) and _is_number(x) for k, x in v.items()),
        "final": lambda v: isinstance(v, bool),
        "latency_ms": lambda v: v is None or _is_number(v),
    },
    "status": {"level": lambda v: isinstance(v, str), "message": lambda v: isinstance(v, str),
               "time": _is_number},
    "marker": {"marker_id": lambda v: isinstance(v, int) and not isinstance(v, bool), "time": _is_number,
               "note": lambda v: isinstance(v, str), "removed": lambda v: isinstance(v, bool)},
}


def _checked(event: PipelineEvent) -> PipelineEvent:
    for name, ok in _FIELD_CHECKS[event.type].items():
        if not ok(getattr(event, name)):
            raise TypeError(f"bad {name}")
    return event


def parse_event_lines(lines, source: str) -> tuple[list[PipelineEvent], list[str]]:
    """Parse JSONL event lines, skipping bad ones; return ``(events, warnings)``.

    ``lines`` are raw ``bytes`` lines (with or without their newline).  A final
    line without a newline is a write the recorder did not finish: dropped.
    """
    events: list[PipelineEvent] = []
    bad: list[int] = []
    truncated = False
    lines = list(lines)
    for number, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n") and number == len(lines):
            if raw.strip(b"\0 \t\r"):
                truncated = True
            continue
        text = raw.strip()
        if not text or not text.strip(b"\0"):
            continue  # blank lines, or zeros a power cut left in the file
        try:
            if len(text) > MAX_EVENT_LINE_BYTES:
                raise ValueError("line too long")
            data = json.loads(text.decode("utf-8"))
            if not isinstance(data, dict):
                raise TypeError("not an object")
            events.append(_checked(event_from_dict(data)))
        except (ValueError, TypeError, KeyError, RecursionError, UnicodeDecodeError):
            bad.append(number)
    warnings = []
    if bad:
        shown = ", ".join(str(n) for n in bad[:5]) + (", ..." if len(bad) > 5 else "")
        warnings.append(f"{source}: skipped {len(bad)} malformed event line(s) (line {shown})")
    if truncated:
        warnings.append(f"{source}: ignored an incomplete last line (recording was interrupted)")
    return events, warnings


def _audio_duration(path: Path, sample_rate: int) -> tuple[float, list[str]]:
    """Duration from the WAV header; for a header a crash left stale, from the file size."""
    warnings = []
    try:
        info = sf.info(os.fsencode(path))  # bytes: a folder name that is not UTF-8 (see audio.io._open)
        duration = info.frames / info.samplerate if info.samplerate else 0.0
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        # libsndfile's own words, not "Error opening b'/path/audio.wav': ..." (the path twice, as bytes)
        reason = getattr(exc, "error_string", None) or str(exc).splitlines()[0]
        raise SessionError(f"{path}: session audio cannot be read ({reason.rstrip('.')})") from None
    try:
        with open(path, "rb") as f:
            data_offset, declared, block_align = find_wav_data_chunk(f)
            size = f.seek(0, os.SEEK_END)
        actual = (size - data_offset) // block_align
        if actual > declared // block_align:
            warnings.append(
                f"{path}: header is out of date ({actual - declared // block_align} frames not in it, "
                "left out until repaired); the app, or listen --record into the folder that holds the "
                "session, repairs it when it starts"
            )
    except (OSError, ValueError):
        pass  # FLAC or another container: soundfile's figure is all there is
    return duration, warnings


@dataclass
class Session:
    """A recorded session as stored on disk."""

    folder: Path
    manifest: dict
    events: list[PipelineEvent]
    audio_path: Path
    duration: float
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.manifest["status"]

    @property
    def sample_rate(self) -> int:
        return self.manifest["sample_rate"]

    @property
    def title(self) -> str | None:
        """The name people gave the session ("P07 baseline"), or None."""
        return self.manifest.get("title") or None

    @property
    def interrupted(self) -> bool:
        """The manifest still says "recording": the recorder is running or was killed."""
        return self.status == STATUS_RECORDING

    @property
    def final_emotions(self) -> list:
        """The final emotion estimate of each utterance, in order (what a timeline shows)."""
        return [e for e in self.events if getattr(e, "type", None) == "emotion" and e.final]

    @property
    def markers(self) -> list:
        """The moments the user marked (while recording or replaying it), as edited, in time order."""
        return current_markers(self.events)

    @property
    def last_marker_id(self) -> int:
        """The highest marker number given in this session, deleted markers included."""
        return highest_marker_id(self.events)

    def reanalyze(self, model, config=None, on_progress=None) -> list[PipelineEvent]:
        """Run the recorded audio through the current model (the live path, unpaced).

        Final results only, with times in the same frame as :attr:`events`.
        For a paced, seekable replay use ``FileSource(session.audio_path, realtime=True)``.
        """
        from realtime_ser.pipeline.worker import analyze_file

        return analyze_file(self.audio_path, model, config, on_progress=on_progress)

    @classmethod
    def open(cls, folder: str | bytes | os.PathLike) -> "Session":
        """Read a session folder; raise SessionError (one line) if it cannot be used.

        Malformed event lines are skipped and reported in :attr:`warnings`.
        """
        folder = Path(os.fsdecode(folder))  # bytes too, as predict_clip and EmotionModel.load take them
        manifest = read_manifest(folder)
        audio_path = folder / manifest["audio_file"]
        events_path = folder / manifest["events_file"]
        if not audio_path.is_file():
            raise SessionError(f"{folder}: session audio {manifest['audio_file']} is missing")
        duration, warnings = _audio_duration(audio_path, manifest["sample_rate"])
        events: list[PipelineEvent] = []
        if events_path.is_file():
            try:
                with open(events_path, "rb") as f:
                    events, event_warnings = parse_event_lines(f, str(events_path))
            except OSError as exc:
                raise SessionError(f"{events_path}: cannot read event log ({exc.strerror})") from None
            warnings.extend(event_warnings)
        else:
            warnings.append(f"{folder}: no event log ({manifest['events_file']}); the timeline is empty")
        if manifest["status"] != STATUS_RECORDING:
            # A finished recording ends its utterances in the log; one whose disk had no byte left for
            # those lines still reads whole (ended where its audio ends, with its last estimate).
            events = events + [event_from_dict(d) for d in closing_lines(events, duration)]
        return cls(folder, manifest, events, audio_path, duration, warnings)
