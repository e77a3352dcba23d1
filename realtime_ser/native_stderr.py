"""Keep native libraries' chatter off the user's terminal.

Some C libraries we call print to file descriptor 2 directly, below Python:
the TFLite runtime announces "INFO: Created TensorFlow Lite XNNPACK delegate
for CPU." whenever it prepares a model, and libsndfile's MP3 decoder prints
"Note: Illegal Audio-MPEG-Header ..." while probing a file that is not MP3.
Neither offers a switch from Python.  Their failures still reach us as
exceptions, which become our one-line errors; so around those few calls the
descriptor points at /dev/null.
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
