"""The desktop app's log file: what went wrong is kept on disk, not only on a terminal nobody watches.

Started from the application menu, the app has no terminal, so an internal error's traceback would be
lost and a bug report would have nothing to show.  The package's loggers (``realtime_ser.*``) write
to ``realtime-ser.log`` in the platform's log folder (``~/.local/state/realtime-ser/log`` on Linux;
``REALTIME_SER_LOG_DIR`` moves it), rotated at 1 MB with two old files kept, and warnings still reach
stderr as before.  Audio never goes there, nor anything a user said: only program events.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

from realtime_ser import __version__
from realtime_ser.config import APP_NAME

LOG_NAME = "realtime-ser.log"
PACKAGE_LOGGER = "realtime_ser"
_FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"


class _ConsoleFormat(logging.Formatter):
    """``realtime-ser: warning: ...``, as the program's other messages on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        return f"realtime-ser: {record.levelname.lower()}: {super().format(record)}"


def log_dir() -> Path:
    folder = os.environ.get("REALTIME_SER_LOG_DIR")
    return Path(folder) if folder else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def start_log_file(what: str, max_bytes: int = 1_000_000, backups: int = 2) -> Path | None:
    """Send the package's records (INFO and up) to the log file, and WARNING and up to stderr.

    ``what`` names the program in the first line (with versions, for a bug report).  Returns the
    file's path, or None if its folder cannot be written (the program runs on without a file).
    """
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(logging.INFO)
    for old in [h for h in logger.handlers if getattr(h, "realtime_ser", False)]:  # started again: replaced
        logger.removeHandler(old)
        old.close()
    console = logging.StreamHandler(sys.stderr)  # what Python printed before a handler existed
    console.setLevel(logging.WARNING)
    console.setFormatter(_ConsoleFormat())
    console.realtime_ser = True
    logger.addHandler(console)
    path = log_dir() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    except OSError as exc:
        logger.warning("no log file (%s: %s)", path, exc.strerror or exc)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.realtime_ser = True
    logger.addHandler(handler)
    logger.info("%s %s started (Python %s, %s)", what, __version__, platform.python_version(), platform.platform())
    return path
