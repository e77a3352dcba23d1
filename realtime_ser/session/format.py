"""The session folder format: file names, manifest schema and crash-safe writes.

A session folder holds three files (format ``realtime-ser-session``, version 1)::

    2026-11-22T10-15-03_session/
        manifest.json   what was recorded, how, and whether it finished
        audio.wav       mono 16-bit PCM at the model rate, written incrementally
        events.jsonl    one pipeline event per line (``event.to_dict()``)

The manifest is only ever replaced atomically (temporary file, fsync,
``os.replace``), so it is always either the old or the new version.  An optional
``title`` names the session for people ("P07 baseline"); it can be set when recording
starts and changed afterwards.  Its
``status`` is ``"recording"`` while a recorder owns the folder, ``"complete"``
after a clean stop, ``"stopped"`` when recording ended early on an error (disk
full, folder removed) and ``"recovered"`` after :func:`repair` fixed a session
whose recorder was killed.  Event times are seconds from the first sample of
``audio.wav``.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path

from realtime_ser.atomic_file import write_text_atomic
from realtime_ser.errors import SessionError
from realtime_ser.jsonfile import read_json

FORMAT_NAME = "realtime-ser-session"
FORMAT_VERSION = 1

MANIFEST_NAME = "manifest.json"
AUDIO_NAME = "audio.wav"
EVENTS_NAME = "events.jsonl"
LOCK_NAME = ".recording.lock"


def named_session_folder(path: Path) -> Path | None:
    """The session folder ``path`` names, for a replay: a folder itself, or its manifest or event
    log (what a file dialog lets a user pick); None for anything else (an audio file)."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.name in (MANIFEST_NAME, EVENTS_NAME):
        return path.parent
    return None


#: A session folder's name as the recorder makes it: the time it started (``2026-11-22T10-15-03_session``;
#: ``..._session-2`` for a second one that second).  A folder so named without a readable manifest
#: is reported, not passed over: it may hold a recording.  Exact, so that a user's own folder of
#: audio files is never taken for a broken session.
SESSION_FOLDER_NAME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}_session(-\d+)?")

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_STOPPED = "stopped"
STATUS_RECOVERED = "recovered"
STATUSES = (STATUS_RECORDING, STATUS_COMPLETE, STATUS_STOPPED, STATUS_RECOVERED)

#: Manifests larger than this are not session manifests (guards against reading a huge file).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


def write_json_atomic(path: Path, data: dict) -> None:
    """Replace ``path`` with ``data`` as JSON so that a crash leaves the old or the new file.

    Raises OSError (e.g. ENOSPC); the old file is then untouched.
    """
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def read_manifest(folder: Path) -> dict:
    """Read and validate ``folder/manifest.json``; any defect is a one-line SessionError."""
    folder = Path(folder)
    if not folder.exists():
        raise SessionError(f"{folder}: no such session folder")
    if not folder.is_dir():
        raise SessionError(f"{folder}: not a session folder (not a directory)")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise SessionError(f"{folder}: not a session folder (no {MANIFEST_NAME})")
    data = read_json(path, "manifest", MAX_MANIFEST_BYTES, SessionError)
    return validate_manifest(data, str(path))


def _require(data: dict, key: str, types: tuple, source: str, what: str):
    if key not in data:
        raise SessionError(f"{source}: manifest has no '{key}'")
    value = data[key]
    if isinstance(value, bool) and bool not in types:
        raise SessionError(f"{source}: manifest '{key}' must be {what}, not {value!r}")
    if not isinstance(value, types):
        raise SessionError(f"{source}: manifest '{key}' must be {what}, not {type(value).__name__}")
    return value


def validate_manifest(data: object, source: str) -> dict:
    """Check the fields readers rely on; return the manifest dict unchanged."""
    if not isinstance(data, dict):
        raise SessionError(f"{source}: manifest must be a JSON object, not {type(data).__name__}")
    fmt = data.get("format")
    if fmt != FORMAT_NAME:
        raise SessionError(f"{source}: not a realtime-ser session manifest (format {fmt!r})")
    version = _require(data, "version", (int,), source, "an integer")
    if version < 1:
        raise SessionError(f"{source}: invalid session format version {version}")
    if version > FORMAT_VERSION:
        raise SessionError(
            f"{source}: session format version {version} is newer than this program reads "
            f"({FORMAT_VERSION}); update realtime-ser"
        )
    status = _require(data, "status", (str,), source, "a string")
    if status not in STATUSES:
        raise SessionError(f"{source}: unknown session status {status!r}")
    rate = _require(data, "sample_rate", (int,), source, "an integer")
    if not 1000 <= rate <= 384000:
        raise SessionError(f"{source}: implausible sample rate {rate}")
    for key in ("audio_file", "events_file"):
        name = _require(data, key, (str,), source, "a file name")
        if not name or Path(name).name != name or name in (".", ".."):
            raise SessionError(f"{source}: '{key}' must be a plain file name, not {name!r}")
    _require(data, "started", (str,), source, "a timestamp string")
    for key in ("settings", "model"):
        if key in data and data[key] is not None and not isinstance(data[key], dict):
            raise SessionError(f"{source}: manifest '{key}' must be an object")
    if data.get("title") is not None and not isinstance(data["title"], str):
        raise SessionError(f"{source}: manifest 'title' must be a string")
    return data


#: A session's title is one line of at most this many characters (longer ones are cut).
MAX_TITLE_CHARS = 200


def clean_title(title: str | None) -> str | None:
    """A title as stored: one line, trimmed, at most MAX_TITLE_CHARS; None when empty.  Every control
    character (tab, newline, the ESC of a terminal escape sequence, ...) is a space: the title is printed."""
    from realtime_ser.console import one_line

    if title is None:
        return None
    text = one_line(title)[:MAX_TITLE_CHARS]
    return text or None


# --- WAV header ------------------------------------------------------------------
#
# The recorder writes a canonical 44-byte header (RIFF, fmt, data) and keeps its
# sizes current on every flush; a crash can still leave sizes that lag the data
# or a trailing partial sample.  These helpers find the data chunk and rewrite
# the two sizes from the file's real length, in place (no new disk space needed).


def find_wav_data_chunk(f) -> tuple[int, int, int]:
    """Return ``(data_offset, declared_size, block_align)`` of a RIFF/WAVE file.

    Raises ValueError if the file is not a PCM WAV file with a data chunk.
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    block_align = None
    pos = 12
    f.seek(0, os.SEEK_END)
    end = f.tell()
    while pos + 8 <= end:
        f.seek(pos)
        chunk_id, size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"fmt ":
            fmt = f.read(min(size, 16))
            if len(fmt) < 16:
                raise ValueError("truncated fmt chunk")
            _tag, channels, _rate, _bps, block_align, _bits = struct.unpack("<HHIIHH", fmt)
            if channels < 1 or block_align < 1:
                raise ValueError("invalid fmt chunk")
        elif chunk_id == b"data":
            if block_align is None:
                raise ValueError("data chunk before fmt chunk")
            return pos + 8, size, block_align
        pos += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def fix_wav_header(path: Path) -> tuple[int, bool]:
    """Make the header of ``path`` match the audio actually in the file.

    Drops a trailing partial sample frame.  Returns ``(frames, changed)``.
    Raises ValueError for a file that is not a WAV file and OSError for I/O errors.
    """
    with open(path, "r+b") as f:
        data_offset, declared, block_align = find_wav_data_chunk(f)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        available = max(0, size - data_offset)
        data_bytes = min(available - available % block_align, 0xFFFFFFFF - 36)
        data_bytes -= data_bytes % block_align
        changed = False
        if data_offset + data_bytes != size:
            f.truncate(data_offset + data_bytes)
            changed = True
        f.seek(4)
        riff_declared = struct.unpack("<I", f.read(4))[0]
        riff_size = data_offset + data_bytes - 8
        if riff_declared != riff_size or declared != data_bytes:
            f.seek(4)
            f.write(struct.pack("<I", riff_size))
            f.seek(data_offset - 4)
            f.write(struct.pack("<I", data_bytes))
            changed = True
        f.flush()
        os.fsync(f.fileno())
    return data_bytes // block_align, changed


#: The header the recorder writes (Python's wave module, 16-bit mono PCM): 44 bytes, audio from byte 44.
RECORDER_HEADER_BYTES = 44


def recorder_wav_header(sample_rate: int, data_bytes: int = 0) -> bytes:
    """The 44-byte header the recorder writes for ``data_bytes`` of 16-bit mono audio (pure function)."""
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
            + b"data" + struct.pack("<I", data_bytes))


def is_damaged_recorder_header(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) is the recorder's header with bytes damaged: all zero (a power
    cut can leave a file's first block so) or with at least two of its four chunk names in place.  Another
    format's file put there is neither, and is not overwritten."""
    if len(head) < RECORDER_HEADER_BYTES:
        return False
    head = head[:RECORDER_HEADER_BYTES]
    if not any(head):
        return True
    names = ((0, b"RIFF"), (8, b"WAVE"), (12, b"fmt "), (36, b"data"))
    return sum(head[at:at + 4] == name for at, name in names) >= 2


def rewrite_recorder_header(path: Path, sample_rate: int) -> None:
    """Put the recorder's header over the first 44 bytes of ``path`` (sizes set by :func:`fix_wav_header`)."""
    with open(path, "r+b") as f:
        f.write(recorder_wav_header(sample_rate))
        f.flush()
        os.fsync(f.fileno())


def truncate_to_last_line(path: Path) -> int:
    """Cut ``path`` after its last newline (dropping a half-written line); return bytes removed."""
    with open(path, "r+b") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        keep = size
        chunk = 65536
        while keep > 0:
            start = max(0, keep - chunk)
            f.seek(start)
            data = f.read(keep - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            keep = start
        if keep != size:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        return size - keep
