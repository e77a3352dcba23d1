"""The recorded sessions of a folder at a glance: when, how long, how each ended, how it sounded.

Shared by ``realtime-ser sessions`` and the app's session browser, so both say the same.
A manifest still saying ``recording`` whose recorder no longer holds the lock was killed:
it is listed as ``interrupted`` at once, not only after the next start repaired it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from realtime_ser.errors import SerError
from realtime_ser.pipeline.summary import describe_shares, speech_time_by_label
from realtime_ser.session.format import LOCK_NAME, MANIFEST_NAME, STATUS_RECORDING, clean_title
from realtime_ser.session.reader import Session, find_sessions, named_like_session
from realtime_ser.session.repair import is_being_recorded

#: The status shown for a session whose recorder died (its manifest still says "recording");
#: repair turns it into "recovered".
STATUS_INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class SessionSummary:
    folder: str
    started: str | None  # ISO 8601, the recorder's local time
    duration_s: float
    status: str  # the manifest's, or STATUS_INTERRUPTED
    device: str | None
    utterances: int
    markers: int
    emotions: str  # the largest shares of speaking time, e.g. "neutral 45%, sad 30%, angry 10%"
    title: str | None = None  # the name people gave it ("P07 baseline")
    # For programs, as ``analyze --format summary`` has them: seconds of speech in all, and per
    # final label that occurred (``uncertain`` included), most first.
    speech_s: float = 0.0
    label_s: dict[str, float] = field(default_factory=dict)
    #: What reading it passed over (malformed event lines, no event log), one line each; for
    #: people, so not in to_dict().
    warnings: tuple[str, ...] = ()

    @property
    def started_time(self) -> datetime | None:
        """The manifest's start time (ISO 8601, with its UTC offset), or None when missing or unreadable."""
        try:
            return datetime.fromisoformat(self.started)
        except (TypeError, ValueError):
            return None

    @property
    def started_short(self) -> str:
        """``2026-11-22T10:15:03.120+01:00`` -> ``2026-11-22 10:15:03`` (the recorder's local time).

        To the second, as sessions are sorted: two started in the same minute must not look alike.
        """
        started = self.started_time
        return started.strftime("%Y-%m-%d %H:%M:%S") if started is not None else "?"

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["warnings"]
        return data


def summarize(folder: str | os.PathLike) -> SessionSummary:
    """One session's summary (raises SessionError, one line, if it cannot be read)."""
    session = Session.open(folder)
    finals = session.final_emotions
    by_label = speech_time_by_label(finals)
    device = session.manifest.get("device")
    status = session.status
    if status == STATUS_RECORDING and not is_being_recorded(folder):
        status = STATUS_INTERRUPTED
    return SessionSummary(
        folder=str(folder),
        started=session.manifest.get("started"),
        duration_s=round(session.duration, 3),
        status=status,
        device=device if isinstance(device, str) else None,
        utterances=len(finals),
        markers=len(session.markers),
        emotions=describe_shares(finals),
        title=clean_title(session.title),  # as set now, even if stored raw by hand or an older version
        speech_s=round(sum(seconds for _, seconds in by_label), 2),
        label_s={label: round(seconds, 2) for label, seconds in by_label},
        warnings=tuple(session.warnings),
    )


def catalog(parent: str | os.PathLike) -> tuple[list[SessionSummary], list[str]]:
    """Summaries of the sessions directly in ``parent`` (oldest first) and one error line for each
    session that cannot be read, a folder named like one without a manifest included (it may hold
    a recording: the user must hear of it).  One a recorder is creating right now is left out, unsaid."""
    parent = Path(parent)
    sessions = set(find_sessions(parent))
    no_manifest = set()
    if parent.is_dir():
        no_manifest = {p for p in parent.iterdir() if p not in sessions and named_like_session(p)}
    summaries, errors = [], []
    for folder in sorted(sessions | no_manifest):
        if folder in no_manifest:
            if not is_being_recorded(folder):  # the recorder makes the folder, then its manifest
                errors.append(_without_manifest(folder))
            continue
        try:
            summaries.append(summarize(folder))
        except SerError as exc:
            errors.append(str(exc))
    return sorted(summaries, key=_by_start), errors


def _by_start(summary: SessionSummary) -> tuple:
    """Oldest first by when they started, whatever their folders were renamed to ("P07 baseline");
    one without a readable start time after them, by folder."""
    started = summary.started_time
    return (0, started.timestamp(), summary.folder) if started is not None else (1, 0.0, summary.folder)


def _without_manifest(folder: Path) -> str:
    """Why a folder named like a session is not listed, and what it holds (is a recording there?)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)
    except OSError as exc:
        return f"{folder}: named like a session but has no {MANIFEST_NAME}, so it is not listed ({exc.strerror})"
    held = "it is empty" if not names else "it holds " + ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"{folder}: named like a session but has no {MANIFEST_NAME}, so it is not listed ({held})"
