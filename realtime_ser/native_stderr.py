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
_lock = threading.Lock()


@contextlib.contextmanager
def native_stderr_silenced():
    """Within the block, anything written to fd 2 is discarded (Python's own stderr included, so keep it short)."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable fd 2 (e.g. a windowed app): nothing to hide
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
