"""Keep native libraries' chatter off the user's terminal.

Some C libraries we call print to file descriptor 2 directly, below Python:
the TFLite runtime announces "INFO: Created TensorFlow Lite XNNPACK delegate
for CPU." whenever it prepares a model, and libsndfile's MP3 decoder prints
"Note: Illegal Audio-MPEG-Header ..." while probing a file that is not MP3.
Neither offers a switch from Python.  Their failures still reach us as
exceptions, which become our one-line errors; so around those few calls the
descriptor points at /dev/null (:func:`native_stderr_silenced`), or, for a
command-line run, for the whole process while Python's ``sys.stderr`` keeps the
real one (:func:`native_stderr_hidden_for_process`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

# One block at a time: two overlapping blocks in different threads would save and
# restore each other's descriptors and could leave stderr pointing at /dev/null.
# Re-entrant, so a nested block in the same thread restores in the right order.
_lock = threading.RLock()


def _saved_stderr() -> int | None:
    """A duplicate of fd 2 to restore later, or None when there is no usable fd 2 (e.g. a windowed app)."""
    try:
        sys.stderr.flush()
        return os.dup(2)
    except (OSError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def native_stderr_silenced():
    """Within the block, anything written to fd 2 is discarded (Python's own stderr included, so keep it short)."""
    with _lock:
        saved = _saved_stderr()
        if saved is None:
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def native_stderr_hidden_for_process():
    """For the whole block, fd 2 goes to /dev/null while ``sys.stderr`` keeps the real one.

    Native libraries print straight to fd 2 (libmpg123's "[src/libmpg123/layer3.c:...] error:
    ..." for a damaged MP3 frame, ALSA's probing notes).  native_stderr_silenced() can only cover
    a call on this thread; decoding also runs in a replay's worker thread and in ``analyze``'s
    worker processes (which inherit fd 2).  Our own messages go through ``sys.stderr`` and still
    show; every failure reaches us as an exception and becomes one of them.
    """
    with _lock:  # not halfway through another thread's native_stderr_silenced()
        real = _saved_stderr()
        if real is not None:
            ours = open(real, "w", encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace", buffering=1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
            previous, sys.stderr = sys.stderr, ours
    if real is None:  # no usable fd 2 (a windowed app): nothing to hide
        yield
        return
    try:
        yield
    finally:
        with _lock:
            sys.stderr = previous
            with contextlib.suppress(OSError):
                ours.flush()
            os.dup2(real, 2)
            with contextlib.suppress(OSError):
                ours.close()
