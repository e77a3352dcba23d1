"""Annotating a finished session: markers set while replaying it, and its title.

A marker is appended to the session's event log like the ones set while recording
(same line format, same clock: seconds from the first sample of the audio), so every
reader sees it; the manifest's ``events_count`` follows.  A title is a field of the
manifest, rewritten atomically.  Only finished sessions are touched: one still owned
by a recorder, or interrupted and not yet repaired, is refused.

Two programs may annotate one session at once (the app and ``listen --replay``, two
replays): each change holds the folder's lock while it reads and rewrites, so neither a
title nor a marker of the other is lost.
"""

from __future__ import annotations

import dataclasses
import json
import os
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; changes at the same moment may then collide
    fcntl = None

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
    if is_being_recorded(folder):
        raise SessionError(f"{folder}: the session is being recorded: {what} now")
    if manifest["status"] == STATUS_RECORDING:
        raise SessionError(f"{folder}: the session was interrupted and is not repaired yet: {what} until "
                           "then (the app, or listen --record into the folder that holds it, repairs it "
                           "when it starts)")
    return manifest


@contextmanager
def _locked(folder: Path):
    """Hold the session folder's lock (the folder itself, flock'ed) while reading and rewriting it."""
    try:
        fd = os.open(folder, os.O_RDONLY) if fcntl is not None else None
    except OSError:  # no such folder: reading its manifest says so
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def set_title(folder: str | os.PathLike, title: str | None) -> str | None:
    """Name the session in ``folder`` (None or "" removes the name); returns the title as stored."""
    folder = Path(folder)
    with _locked(folder):
        manifest = _finished_manifest(folder, "it cannot be renamed")
        manifest["title"] = clean_title(title)
        try:
            write_json_atomic(folder / MANIFEST_NAME, manifest)
        except OSError as exc:
            raise SessionError(f"{folder}: cannot rename the session ({exc.strerror})") from None
    return manifest["title"]


def add_marker(folder: str | os.PathLike, marker: MarkerEvent, new: bool = False) -> MarkerEvent:
    """Append ``marker`` to the session in ``folder`` and return it as stored; any problem is a
    one-line SessionError.

    ``new``: a marker just set, not an edit of one: if another program gave its number meanwhile
    (two replays of the session annotating it), it gets the next free one rather than replacing
    that marker (the last line per number counts).
    """
    folder = Path(folder)
    with _locked(folder):
        manifest = _finished_manifest(folder, "markers cannot be added to it")
        events_path = folder / manifest["events_file"]
        if new:
            taken = _highest_marker_id(events_path)
            if marker.marker_id <= taken:
                marker = dataclasses.replace(marker, marker_id=taken + 1)
        _append_line(events_path, json.dumps(marker.to_dict(), separators=(",", ":"), ensure_ascii=False))
        _count_event(folder, manifest)
    return marker


def _highest_marker_id(events_path: Path) -> int:
    from realtime_ser.pipeline.events import highest_marker_id
    from realtime_ser.session.reader import parse_event_lines

    try:
        with open(events_path, "rb") as f:
            events, _ = parse_event_lines(f, str(events_path))
    except OSError:
        return 0  # no log yet: appending makes it, or says why not
    return highest_marker_id(events)


def _append_line(events_path: Path, line: str) -> None:
    """Append one event line, durably; on failure the log is cut back to what it was (a full disk
    left part of the line, which every later reading took for an interrupted recording)."""
    try:
        with open(events_path, "a+b", buffering=0) as f:  # unbuffered: a failed write fails here
            size = f.seek(0, os.SEEK_END)
            if size > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # never glue the marker to a damaged last line
                    line = "\n" + line
            rest = memoryview((line + "\n").encode("utf-8"))
            try:
                while rest:
                    rest = rest[f.write(rest):]
                os.fsync(f.fileno())
            except OSError:
                f.truncate(size)
                raise
    except OSError as exc:
        raise SessionError(f"{events_path}: cannot add the marker ({exc.strerror})") from None


def _count_event(folder: Path, manifest: dict) -> None:
    if isinstance(manifest.get("events_count"), int):
        manifest["events_count"] += 1
        try:
            write_json_atomic(folder / MANIFEST_NAME, manifest)
        except OSError:
            pass  # the count is informative; the marker itself is safely in the log
