"""Lock-free single-producer/single-consumer ring buffer of float32 samples.

The producer is the audio callback: :meth:`RingBuffer.write` only copies into a
preallocated array and bumps two integers, so it never blocks, never allocates
sample memory and never raises on overrun.  When the consumer falls behind the
producer simply overwrites the oldest audio (the newest audio is what a live
display and the VAD need); the consumer notices on its next read and counts
the lost samples in :attr:`RingBuffer.dropped`.

Torn reads are prevented seqlock-style: the producer announces the range it is
about to overwrite (``_claimed``) before copying and publishes it
(``_written``) afterwards; the consumer copies optimistically and then discards
whatever the producer may have overwritten meanwhile.  Both counters only grow,
so a plain attribute read is a consistent snapshot under the GIL.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity SPSC float32 FIFO that keeps the newest samples on overrun."""

    def __init__(self, capacity: int):
        if int(capacity) <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, dtype=np.float32)
        self._claimed = 0  # producer: samples being written (announced before copying)
        self._written = 0  # producer: samples fully written
        self._read = 0  # consumer: samples consumed or skipped
        self._dropped = 0  # consumer: samples overwritten before they were read
        self._overruns = 0  # consumer: reads that found lost samples

    # -- producer side (audio callback) -------------------------------------------------
    def write(self, block) -> None:
        """Append samples (1-D array-like of float32); never blocks, never raises on overrun."""
        n = len(block)
        if n == 0:
            return
        cap = self.capacity
        start = self._written
        if n > cap:  # only the newest ``cap`` samples can survive
            block = block[n - cap :]
            start += n - cap
        m = len(block)
        self._claimed = self._written + n
        pos = start % cap
        first = min(m, cap - pos)
        self._buf[pos : pos + first] = block[:first]
        if first < m:
            self._buf[: m - first] = block[first:]
        self._written = self._written + n

    # -- consumer side -----------------------------------------------------------------
    def read_available(self) -> int:
        """Samples that a :meth:`read` could return now (at most ``capacity``)."""
        return min(self._written - self._read, self.capacity)

    def read(self, n: int | None = None) -> np.ndarray:
        """Return up to ``n`` (default: all available) of the oldest unread samples as a new array."""
        cap = self.capacity
        written = self._written
        r = self._read
        if written - r > cap:  # overwritten before we got to it
            self._note_loss(written - r - cap)
            r = written - cap
        k = written - r if n is None else max(0, min(int(n), written - r))
        if k == 0:
            self._read = r
            return np.zeros(0, dtype=np.float32)
        out = np.empty(k, dtype=np.float32)
        pos = r % cap
        first = min(k, cap - pos)
        out[:first] = self._buf[pos : pos + first]
        if first < k:
            out[first:] = self._buf[: k - first]
        # Anything older than claimed - cap may have been overwritten while we copied.
        oldest_valid = self._claimed - cap
        if oldest_valid > r:
            lost = min(k, oldest_valid - r)
            self._note_loss(lost)
            out = out[lost:]
        self._read = r + k
        return out

    def clear(self) -> None:
        """Discard everything unread (consumer side; not counted as dropped)."""
        self._read = self._written

    def _note_loss(self, n: int) -> None:
        self._dropped += n
        self._overruns += 1

    # -- statistics -------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Samples lost to overruns so far (including ones not yet noticed by a read)."""
        return self._dropped + max(0, self._written - self._read - self.capacity)

    @property
    def overruns(self) -> int:
        """How many times the consumer found that samples had been lost."""
        return self._overruns + (1 if self._written - self._read > self.capacity else 0)

    @property
    def total_written(self) -> int:
        return self._written
