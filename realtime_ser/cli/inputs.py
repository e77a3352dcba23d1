"""What ``analyze`` reads: files, folders searched for audio, and session folders (with their markers)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from realtime_ser.cli.common import UsageError, path_problem, print_warning
from realtime_ser.cli.piped import is_piped, spool_argument
from realtime_ser.errors import SerError


def open_session(path: Path):
    """The session in folder ``path`` (its reading's warnings printed), or None if it is not one.

    Raises SessionError (reported like a bad file) for a session folder that cannot be read.
    """
    if not is_session(path):
        return None
    from realtime_ser.session import Session

    session = Session.open(path)
    for warning in session.warnings:  # skipped event lines, a stale audio header: worth knowing
        print_warning(warning)
    return session


def session_audio(path: Path, markers: dict[str, list[dict]] | None = None) -> Path | None:
    """Hook for session folders: the recording inside, or None if ``path`` is not a session."""
    session = open_session(path)
    if session is None:
        return None
    if markers is not None:  # kept for the timeline, from this same reading of the event log
        markers[str(path)] = [m.to_dict() for m in session.markers]
    return Path(session.audio_path)


def is_session(path: Path) -> bool:
    """A session folder is analysed as one recording (markers, its name), not as loose audio; so is
    one named like a session, so that a missing manifest is its error rather than passed over."""
    try:
        from realtime_ser.session.reader import is_session_folder, named_like_session
    except ImportError:  # sessions are optional for analysis
        return False
    return is_session_folder(path) or named_like_session(path)


def _folder_contents(folder: Path) -> tuple[list[tuple[Path, bool]], list[tuple[str, str]]]:
    """``(path, is a session folder)`` for the audio files and session folders anywhere under
    ``folder`` (linked folders too), in path order (a session folder's own files are not searched: it is one input), and
    ``(folder, error line)`` for each one that cannot be read: a ``lost+found`` on a USB drive stopped
    the whole folder's analysis, and one os.walk cannot list was passed over without a word."""
    from realtime_ser.audio.io import is_audio_file

    found: list[tuple[Path, bool]] = []
    unreadable: list[tuple[str, str]] = []

    def cannot_read(path, exc: OSError) -> None:
        unreadable.append((str(path), f"{path}: cannot read this folder ({exc.strerror or exc})"))

    # Linked folders are followed, as linked files are taken (a folder of links to the recordings to
    # analyse); each folder is searched once, so a link to a folder above it ends no loop.
    searched: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, onerror=lambda exc: cannot_read(exc.filename, exc), followlinks=True):
        here = Path(root)
        try:
            st = os.stat(here)
        except OSError as exc:
            cannot_read(here, exc)
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in searched:
            dirs[:] = []
            continue
        searched.add((st.st_dev, st.st_ino))
        sessions = set()
        for d in list(dirs):
            try:
                if is_session(here / d):
                    sessions.add(d)
            except OSError as exc:
                cannot_read(here / d, exc)
                dirs.remove(d)
        dirs[:] = sorted(d for d in dirs if d not in sessions)  # in name order: which link of two is named, known
        found += [(here / d, True) for d in sessions]
        found += [(here / f, False) for f in files if is_audio_file(f) and (here / f).is_file()]
    return sorted(found), sorted(set(unreadable))


def _session_input(folder: Path, markers) -> tuple[str, Path | None, str | None]:
    """A session folder as one input: its recording, with its markers kept for the timeline."""
    try:
        return str(folder), session_audio(folder, markers), None
    except SerError as exc:
        return str(folder), None, str(exc)


def not_audio(path: Path) -> str | None:
    """A one-line error for what exists but is no file to decode, where the decoders would say
    something misleading ("file is empty"): a device (``/dev/zero``), a socket, or a file of the
    system (``/proc/self/status``) whose size reads 0 although it has content.  None otherwise."""
    try:
        st = os.stat(path)
        mode, size = st.st_mode, st.st_size
        if stat.S_ISDIR(mode) or stat.S_ISFIFO(mode) or (stat.S_ISREG(mode) and size > 0):
            return None
        if stat.S_ISREG(mode):
            with open(path, "rb") as f:
                if not f.read(1):
                    return None  # really empty: the decoder says so
            return f"{path}: not an audio file (a file of the system that reports no size, as in /proc)"
    except OSError:
        return None  # the decoder says what is wrong
    kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
    return f"{path}: not an audio file ({'a socket' if stat.S_ISSOCK(mode) else kind})"


def _file_input(path: Path, markers) -> tuple[str, Path | None, str | None]:
    """A plain audio file as one input, with the marks the app keeps for it (set while replaying it
    there; the file itself is never written to) kept for the timeline."""
    problem = not_audio(path)
    if problem:
        return str(path), None, problem
    if markers is not None:
        from realtime_ser.session.file_marks import default_marks_dir, load_marks

        kept = load_marks(default_marks_dir(), path).markers  # none for a file changed since
        if kept:
            markers[str(path)] = [m.to_dict() for m in kept]
    return str(path), path, None


def _expand(p: Path, markers) -> list[tuple[str, Path | None, str | None]]:
    """One command-line argument as ``(display name, audio path or None, error or None)`` items."""
    problem = path_problem(p)
    if problem:
        return [(str(p), None, f"{p}: {problem}")]
    if not p.is_dir():
        return [_file_input(p, markers) if p.exists() else (str(p), None, f"{p}: no such file")]
    if is_session(p):
        return [_session_input(p, markers)]
    found, unreadable = _folder_contents(p)
    if not found and not unreadable:
        return [(str(p), None, f"{p}: no audio files in this folder")]
    return ([_session_input(f, markers) if session else _file_input(f, markers) for f, session in found]
            + [(name, None, message) for name, message in unreadable])


def collect_inputs(paths: list[str], markers: dict[str, list[dict]] | None = None,
                   spool_dir: Path | None = None) -> list[tuple[str, Path | None, str | None]]:
    """Expand arguments into ``(display name, audio path or None, error or None)``.

    A session folder, named or found in a folder, is one input: its stored markers go into
    ``markers`` under its display name, as do the marks the app keeps for a plain file.  An input
    met twice (the same file twice, a file and a folder holding it) is analysed once, where it
    first appears.  ``-`` (standard input) and pipes are copied into ``spool_dir`` first
    (:mod:`realtime_ser.cli.piped`); their audio path is the copy.
    """
    items: list[tuple[str, Path | None, str | None]] = []
    given: set[Path] = set()
    found: set[Path] = set()
    for arg in paths:
        # realpath, not Path.resolve(): that raises RuntimeError for a symlink loop (said per input below)
        if _real(arg) in given:  # a repeated argument is not even opened again
            continue
        given.add(_real(arg))
        if is_piped(arg):  # read once, now: a pipe cannot be opened again
            if spool_dir is None:
                items.append((arg, None, f"{arg}: a pipe cannot be read here"))
            else:
                items.append((arg, *spool_argument(arg, spool_dir, len(items))))
            continue
        for name, audio, error in _expand(Path(arg), markers):
            key = _real(audio or name)
            if key not in found:
                found.add(key)
                items.append((name, audio, error))
    return items


def _real(path) -> Path:
    """``path`` with its symbolic links resolved as far as they go (a loop, a name too long: as given)."""
    return Path(os.path.realpath(path))


def check_output_replaces_no_input(output: str, inputs: list[Path]) -> None:
    """UsageError if writing ``output`` would replace an input of this run: a recording (named, or
    found in a folder) or a file of a session folder (its audio, event log or manifest).

    The output is only written once the run ends, so nothing would warn before the recording was
    gone: ``analyze talk.flac -o talk.flac`` replaced the audio with its own timeline.
    """
    from realtime_ser.atomic_file import standard_stream

    try:
        if standard_stream(output) is not None or not os.path.isfile(output):
            return  # a new file, a pipe, the terminal: nothing of the user's is replaced
        written = Path(os.path.realpath(output))
    except (OSError, ValueError):
        return
    for path in map(Path, inputs):
        try:
            session = path.is_dir()
            clash = os.path.samefile(written.parent if session else written, path)
        except OSError:
            continue
        if clash:
            what = f"a file of the session {path}" if session else f"{path}, an input of this run"
            raise UsageError(f"--output {output} would replace {what}; name another file")
