"""Audio that ``analyze`` reads from a pipe: ``-`` (standard input), ``<(...)`` or a named pipe.

``ffmpeg -i call.mp4 -f wav - | realtime-ser analyze -`` is how a command-line user hands over audio
that is not a file yet.  The decoders must seek (a WAV header written last, the MP3 probe, FFmpeg's
containers) and a pipe cannot, so the bytes are first copied to a temporary file, which is then
analysed like any other file and removed at the end of the run.  The copy is capped: a pipe that
never ends (``analyze - < /dev/zero`` by mistake) must not fill the temporary folder.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

#: ``analyze -`` reads standard input.
STDIN = "-"
#: At most this much is copied from one pipe (two hours of 48 kHz stereo 32-bit WAV fit).
MAX_PIPED_BYTES = 2 * 1024**3
_BLOCK = 1 << 20


def is_piped(arg: str) -> bool:
    """True for ``-`` and for a path that is a pipe (``<(...)``, ``/dev/stdin`` fed by a pipe, a FIFO)."""
    if arg == STDIN:
        return True
    try:
        return stat.S_ISFIFO(os.stat(arg).st_mode)
    except (OSError, ValueError):
        return False


def spool_argument(arg: str, folder: Path, number: int) -> tuple[Path | None, str | None]:
    """Copy the pipe ``arg`` names into ``folder``; ``(the copy, None)`` or ``(None, one-line error)``.

    ``number`` keeps the copies of several pipes in one run apart.
    """
    name = "standard input" if arg == STDIN else "the pipe"
    if arg == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            return None, f"{arg}: there is no standard input to read"
        if sys.stdin.isatty():  # a user waiting for output while the program waits for them
            return None, (f"{arg}: standard input is a terminal, not audio; pipe a recording in "
                          "(`ffmpeg -i talk.mp4 -f wav - | realtime-ser analyze -`)")
        return spool(stream, folder / f"stdin-{number}", arg, name)
    try:
        with open(arg, "rb") as stream:  # a named pipe waits here for its writer, as `cat` would
            return spool(stream, folder / f"pipe-{number}", arg, name)
    except OSError as exc:
        return None, f"{arg}: cannot read the pipe ({exc.strerror or exc})"


def spool(stream: BinaryIO, target: Path, shown: str, name: str = "the pipe",
          limit: int = MAX_PIPED_BYTES) -> tuple[Path | None, str | None]:
    """Copy ``stream`` to ``target`` up to ``limit`` bytes; ``(target, None)`` or ``(None, error)``.

    ``shown`` is how the input is named in the error, ``name`` what it is ("standard input").
    Nothing is left at ``target`` after an error.
    """
    copied = 0
    try:
        with open(target, "wb") as out:
            while block := stream.read(_BLOCK):
                copied += len(block)
                if copied > limit:
                    break
                out.write(block)
    except OSError as exc:
        target.unlink(missing_ok=True)
        return None, f"{shown}: cannot copy {name} to a temporary file ({exc.strerror or exc})"
    if copied > limit:
        target.unlink(missing_ok=True)
        return None, f"{shown}: more than {_size(limit)} arrived through {name}; save it to a file and analyse that"
    if copied == 0:
        target.unlink(missing_ok=True)
        return None, f"{shown}: nothing arrived through {name}"
    return target, None


def _size(n: int) -> str:
    """``n`` bytes in words: "2 GiB", "512 MiB", "100 bytes"."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"
