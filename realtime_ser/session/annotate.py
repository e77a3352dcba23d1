"""Annotating a finished session: markers set while replaying it, and its title.

A marker is appended to the session's event log like the ones set while recording
(same line format, same clock: seconds from the first sample of the audio), so every
reader sees it; the manifest's ``events_count`` follows.  A title is a field of the
manifest, rewritten atomically.  Only finished sessions are touched: one still owned
by a recorder, or interrupted and not yet repaired, is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from realtime_ser.errors import SessionError
from realtime_ser.pipeline.events import MarkerEvent
from realtime_ser.session.format import (
    MANIFEST_NAME,
    STATUS_RECORDING,
    clean_title,
    read_manifest,
    write_json_atomic,
)
from realtime_ser.session.repair import is_being_recorded


def _finished_manifest(folder: Path, what: str) -> dict:
    manifest = read_manifest(folder)
    if manifest["status"] == STATUS_RECORDING or is_being_recorded(folder):
        raise SessionError(f"{folder}: the session is being recorded (or was interrupted): {what} now")
    return manifest


def set_title(folder: str | os.PathLike, title: str | None) -> str | None:
    """Name the session in ``folder`` (None or "" removes the name); returns the title as stored."""
    folder = Path(folder)
    manifest = _finished_manifest(folder, "it cannot be renamed")
    manifest["title"] = clean_title(title)
    try:
        write_json_atomic(folder / MANIFEST_NAME, manifest)
    except OSError as exc:
        raise SessionError(f"{folder}: cannot rename the session ({exc.strerror})") from None
    return manifest["title"]


def add_marker(folder: str | os.PathLike, marker: MarkerEvent) -> None:
    """Append ``marker`` to the session in ``folder``; any problem is a one-line SessionError."""
    folder = Path(folder)
    manifest = _finished_manifest(folder, "markers cannot be added to it")
    events_path = folder / manifest["events_file"]
    line = json.dumps(marker.to_dict(), separators=(",", ":"), ensure_ascii=False) + "\n"
    try:
        with open(events_path, "a+b") as f:
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # never glue the marker to a damaged last line
                    line = "\n" + line
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise SessionError(f"{events_path}: cannot add the marker ({exc.strerror})") from None
    if isinstance(manifest.get("events_count"), int):
        manifest["events_count"] += 1
        try:
            write_json_atomic(folder / MANIFEST_NAME, manifest)
        except OSError:
            pass  # the count is informative; the marker itself is safely in the log
