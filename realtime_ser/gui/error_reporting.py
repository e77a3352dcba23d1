"""Unexpected errors (bugs) in the app: logged with their traceback, and said in the window.

An exception escaping a Qt slot or a thread would otherwise only print on a terminal that a user
who started the app from the menu never sees, while the app goes on as if nothing happened.  The
reporter logs it (:mod:`realtime_ser.log_file`) and shows it in the window's banner, once per kind
of error with a count after that, so a fault repeating 30 times a second cannot flood either.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

#: Full tracebacks logged per kind of error; later repeats are only counted.
LOGGED_REPEATS = 3


class ErrorReporter(QObject):
    """Installs ``sys.excepthook`` and ``threading.excepthook``; ``reported(summary, count)`` is
    emitted on the GUI thread (a queued signal when the error was in another thread)."""

    reported = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._counts: dict[tuple, int] = {}
        self._previous = None

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._on_error
        threading.excepthook = self._on_thread_error

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def _on_error(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self._report(exc_type, exc, tb, "")

    def _on_thread_error(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self._report(args.exc_type, args.exc_value, args.exc_traceback,
                     f" in thread {args.thread.name}" if args.thread is not None else "")

    def _report(self, exc_type, exc, tb, where: str) -> None:
        frames = traceback.extract_tb(tb)
        place = (frames[-1].filename, frames[-1].lineno) if frames else ("", 0)
        key = (exc_type, *place)
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if count <= LOGGED_REPEATS:
            log.error("unexpected error%s (a bug)", where, exc_info=(exc_type, exc, tb))
        summary = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
        self.reported.emit(f"{summary}{where}", count)


def internal_error_html(summary: str, count: int, log_path: Path | None) -> str:
    """The banner's text for an unexpected error (``count``: how often it has happened)."""
    import html

    times = f" ({count} times)" if count > 1 else ""
    where = (f"the details are in {html.escape(str(log_path))}; please add that file to a bug report"
             if log_path is not None else "the details were printed on the terminal")
    return (f"<b>Internal error</b>{times}: {html.escape(summary)}. The app goes on, but something "
            f"did not work; {where}.")
