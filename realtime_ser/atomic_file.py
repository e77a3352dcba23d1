"""Replacing a file so that a crash or a full disk leaves the old version or the new, never half.

Used for everything the program writes over a user's file: session manifests, the settings file,
timeline exports from the GUI and ``realtime-ser analyze --output``. The temporary file sits
beside the target (same file system, so ``os.replace`` is atomic) and is removed on failure.

Only regular files are replaced.  A symlink is followed (the file it points to is replaced, so
the link keeps working), and something that is not a regular file (``/dev/stdout``, a named pipe,
a terminal) is simply written to: renaming over it would destroy it, not write to it. The file
this process's stdout or stderr already writes to (``-o /dev/stdout`` with stdout redirected to a
log) is written through that descriptor, at its position: replaced or reopened, the log would lose
what was written before.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
from pathlib import Path
from typing import TextIO


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: Text is UTF-8, but a file name that is not (latin-1 from an old disk, which Python holds as
#: escaped bytes) is written byte for byte, as on stdout, so a reader can find the file; strict
#: UTF-8 raised UnicodeEncodeError after a whole analysis.
NAME_BYTES = "surrogateescape"


def standard_stream(path: str | os.PathLike) -> TextIO | None:
    """``sys.stdout`` or ``sys.stderr`` if ``path`` is the very file (log, pipe, terminal) that one
    already writes to, else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and os.path.samestat(st, os.fstat(stream.fileno())):
                return stream
        except (OSError, ValueError, AttributeError):  # closed, or replaced by an object without a descriptor
            continue
    return None


def open_for_writing(path: str | os.PathLike) -> TextIO:
    """A text stream for output written as it comes (``listen --output``): the standard stream
    ``path`` names (not closed with the returned object), else ``path`` opened for writing."""
    stream = standard_stream(path)
    if stream is not None:
        return _after(stream)
    return open(path, "w", encoding="utf-8", errors=NAME_BYTES, newline="")


def _after(stream: TextIO) -> TextIO:
    """A writer on a duplicate of ``stream``'s descriptor, after what the program printed there so
    far (its buffer flushed first); closing it leaves ``stream`` open."""
    stream.flush()
    return os.fdopen(os.dup(stream.fileno()), "w", encoding="utf-8", errors=NAME_BYTES, newline="")


def _replaceable(path: Path) -> Path | None:
    """The regular file to replace for ``path`` (a symlink's target), or None to write ``path`` in place.

    A link that ends somewhere else than a plain path (``/dev/stdout`` -> ``/proc/self/fd/1`` ->
    ``pipe:[...]`` or a deleted file) is written in place: resolving it would name the wrong file.
    """
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None  # a new file, or a link to one not yet there
    if st is not None and not stat.S_ISREG(st.st_mode):
        return None
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    if st is None:
        return real
    try:
        same = os.path.samestat(st, os.stat(real))
    except OSError:
        same = False
    return real if same else None


def _write_in_place(path: Path, text: str) -> None:
    """Write into a device, pipe or other special file as opened (no temporary, no rename)."""
    with open(path, "w", encoding="utf-8", errors=NAME_BYTES, newline="") as f:
        f.write(text)


def check_writable(path: str | os.PathLike) -> None:
    """Raise the OSError that :func:`write_text_atomic` would raise for ``path``, without writing it.

    A long job (``analyze`` of a large folder) checks its output first instead of failing at the
    end.  For a file it creates and removes the same temporary the write uses, so a read-only disk,
    a missing folder or missing permission give the real error.
    """
    if standard_stream(path) is not None:
        return
    target = _replaceable(Path(path))
    if target is None:  # written in place: it must exist and take writes
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return
    tmp = _temporary_beside(target)
    with open(tmp, "w"):
        pass
    tmp.unlink()


def _temporary_beside(target: Path) -> Path:
    """A temporary name beside ``target`` that no other writer uses: two programs writing one file at
    once (the app and ``sessions --title`` on a session's manifest) shared one fixed name, so one
    published the other's text and the other's rename failed."""
    return target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8); raises OSError, leaving any old file untouched.

    Returns the file written: ``path``, or the file a symlink at ``path`` points to.
    """
    stream = standard_stream(path)
    if stream is not None:
        with _after(stream) as f:
            f.write(text)
        return Path(path)
    target = _replaceable(Path(path))
    if target is None:
        _write_in_place(Path(path), text)
        return Path(path)
    tmp = _temporary_beside(target)
    try:
        with open(tmp, "w", encoding="utf-8", errors=NAME_BYTES, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(target.parent)
    return target
