"""Marks set on a plain audio file (not a session folder), kept between replays.

A session folder keeps its markers itself. A plain recording is the user's file and is never
written to, so its marks live in the app's data folder: one small JSON file per recording, named
after its full path. They are shown again only while the recording is unchanged (same size and
modification time): marks on an edited or replaced recording would point at the wrong moments.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from realtime_ser.atomic_file import write_text_atomic
from realtime_ser.config import APP_NAME
from realtime_ser.errors import SerError
from realtime_ser.pipeline.events import MarkerEvent

FORMAT = 1


def default_marks_dir() -> Path:
    """Beside the default session folder, in the platform's data folder."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "file-marks"


@dataclass
class FileMarks:
    markers: list[MarkerEvent] = field(default_factory=list)
    #: The highest number given so far, deleted ones included: numbers are not given twice.
    last_marker_id: int = 0
    #: Marks exist, but for an earlier version of the file (so they are not returned).
    stale: bool = False


def _identity(audio: Path) -> dict:
    st = audio.stat()
    return {"path": str(audio.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _store_file(store: Path, audio: Path) -> Path:
    return store / (hashlib.sha256(str(audio.resolve()).encode()).hexdigest()[:32] + ".json")


def load_marks(store: Path, audio: str | os.PathLike) -> FileMarks:
    """The marks kept for ``audio``; none if there are none, they are unreadable, or the file changed."""
    audio = Path(audio)
    try:
        data = json.loads(_store_file(store, audio).read_text(encoding="utf-8"))
        identity = _identity(audio)
        if data.get("format") != FORMAT or data.get("path") != identity["path"]:
            return FileMarks()
        if (data.get("size"), data.get("mtime_ns")) != (identity["size"], identity["mtime_ns"]):
            return FileMarks(stale=True)
        markers = [MarkerEvent(int(m["marker_id"]), float(m["time"]), str(m.get("note", "")))
                   for m in data.get("markers", [])]
        return FileMarks(markers, max([int(data.get("last_marker_id", 0))] + [m.marker_id for m in markers]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return FileMarks()  # none kept (the usual case), or a damaged store: start afresh


def save_marks(store: Path, audio: str | os.PathLike, markers: list[MarkerEvent], last_marker_id: int) -> None:
    """Keep ``markers`` for ``audio``. Raises SerError if it cannot. With none left the numbers given
    are still kept (forgetting the file gave them again: numbers are never given twice)."""
    audio = Path(audio)
    target = _store_file(store, audio)
    try:
        if not markers and last_marker_id <= 0:
            target.unlink(missing_ok=True)
            return
        store.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, **_identity(audio), "last_marker_id": last_marker_id,
                "markers": [{"marker_id": m.marker_id, "time": m.time, "note": m.note} for m in markers]}
        write_text_atomic(target, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    except OSError as exc:
        raise SerError(f"cannot keep the marks of {audio.name} in {store}: {exc.strerror or exc}") from None
