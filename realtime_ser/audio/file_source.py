"""Replaying an audio file as a source: decoded, resampled and paced like a microphone, or unpaced.

The same pull interface as the microphone (audio.sources.AudioSource), so the
pipeline cannot tell a paced file replay from a live microphone; seek, pause and
resume serve the app's replay bar.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import numpy as np

from realtime_ser.audio.io import audio_info, check_channel, iter_audio_blocks
from realtime_ser.audio.sources import MODEL_RATE, AudioSource
from realtime_ser.pipeline.events import StatusEvent


class FileSource(AudioSource):
    """Decodes any supported file (format, rate, channels) to 16 kHz mono.

    ``realtime=False`` delivers as fast as the consumer reads (analysis);
    ``realtime=True`` releases ``block_ms`` blocks at the pace of a microphone
    (replay, latency benchmarks).  ``speed`` > 1 replays faster than real time; it must be
    finite and > 0 (a ValueError: front ends check what users type themselves).
    ``pause``/``resume``/``seek`` are safe to call from another thread (a GUI).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        realtime: bool = False,
        loop: bool = False,
        block_ms: float = 20.0,
        speed: float = 1.0,
        decode_seconds: float = 1.0,
        channel: int | None = None,
    ):
        self.path = Path(path)
        self.channel = channel  # 1-based; None mixes all channels
        self.realtime = realtime
        self.loop = loop
        self.block = max(1, int(MODEL_RATE * block_ms / 1000))
        self.speed = float(speed)
        if not (self.speed > 0 and math.isfinite(self.speed)):  # the pacing divides by it
            raise ValueError(f"FileSource speed must be a finite number > 0, not {speed!r}")
        self.decode_seconds = decode_seconds if realtime else max(decode_seconds, 2.0)
        self.name = self.path.name if channel is None else f"{self.path.name} (channel {channel})"
        self._info = None  # duration and channels, read once, when first needed
        self._lock = threading.Lock()
        self._blocks = None
        self._buf = np.zeros(0, dtype=np.float32)
        self._pos = 0  # samples delivered since the current origin
        self._origin = 0  # sample position of the last seek/start
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._reset: int | None = None
        self._ended = False
        self._started = False
        self._status: list[StatusEvent] = []  # what the pipeline is to say (a file cut short)

    @property
    def duration(self) -> float:
        if self._info is None:
            self._info = audio_info(self.path)
        return self._info.duration

    @property
    def position(self) -> float:
        """Seconds of the file delivered so far."""
        return (self._origin + self._pos) / MODEL_RATE

    def start(self) -> None:
        _ = self.duration  # raises AudioFileError early for a missing or undecodable file
        check_channel(self.path, self._info.channels, self.channel)  # and for a channel it lacks
        with self._lock:
            self._open_at(self._reset or 0)  # a seek before the start: start there (the reset stays for the pipeline)
            self._started = True

    def stop(self) -> None:
        with self._lock:
            self._blocks = None
            self._ended = True

    def _open_at(self, sample: int) -> None:
        self._blocks = iter_audio_blocks(
            self.path, MODEL_RATE, self.decode_seconds, start_seconds=sample / MODEL_RATE, channel=self.channel
        )
        self._buf = np.zeros(0, dtype=np.float32)
        self._origin = sample
        self._pos = 0
        self._t0 = time.monotonic()
        if self._paused_at is not None:
            self._paused_at = self._t0
        self._ended = False

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                self._t0 += time.monotonic() - self._paused_at
                self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` (clamped to the file); the pipeline sees a reset to that time.
        Before :meth:`start` it only records where to start, and start opens the file there, once."""
        sample = int(max(0.0, min(float(seconds), self.duration)) * MODEL_RATE)
        with self._lock:
            if self._started:
                self._open_at(sample)
            else:
                self._origin, self._pos = sample, 0  # the position reads as the sought one already
            self._reset = sample

    def take_reset(self) -> int | None:
        """The sample a seek jumped to, once; until it is taken, :meth:`read` gives empty blocks."""
        with self._lock:
            r, self._reset = self._reset, None
        return r

    def _fill(self, n: int) -> bool:
        """Decode until ``n`` samples are buffered; False when the file is exhausted."""
        while self._buf.size < n:
            try:
                nxt = next(self._blocks) if self._blocks is not None else None
            except StopIteration:
                nxt = None
            if nxt is None:
                if self.loop and self._origin + self._pos + self._buf.size > 0:
                    self._blocks = iter_audio_blocks(self.path, MODEL_RATE, self.decode_seconds, channel=self.channel)
                    continue
                return False
            self._buf = np.concatenate([self._buf, nxt]) if self._buf.size else nxt
        return True

    #: How far short of its header's length a file may end before it is said: compressed formats'
    #: lengths are estimates, good to a fraction of a second.
    CUT_SHORT_S = 1.0
    CUT_SHORT_FRACTION = 0.05

    def _say_if_cut_short(self) -> None:
        """A file that ends well before its header says (a copy or download that stopped, a WAV whose
        writer died) was analysed to its end without a word: said, with where it ends."""
        ends, says = self.position, self.duration
        if not self.loop and says - ends > max(self.CUT_SHORT_S, self.CUT_SHORT_FRACTION * says):
            self._status.append(StatusEvent(
                "warning", f"the recording ends at {ends:.1f} s, though its header says {says:.1f} s "
                           "(cut short?)", 0.0))

    def pop_status(self) -> list[StatusEvent]:
        with self._lock:
            out, self._status = self._status, []
        return out

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._ended or not self._started:
                    return None
                if self._reset is not None:
                    # A seek during the wait: the reader takes the reset first, so the new place's
                    # audio is not fed at the old clock (it was, one block, 20 ms early for good).
                    return np.zeros(0, dtype=np.float32)
                if self._paused_at is not None:
                    wait = 0.02
                else:
                    if self.realtime:
                        due = (time.monotonic() - self._t0) * self.speed * MODEL_RATE
                        if due < self._pos + self.block:
                            wait = (self._pos + self.block - due) / (MODEL_RATE * self.speed)
                        else:
                            wait = 0.0
                        n = self.block
                    else:
                        wait, n = 0.0, self.block * 25  # 0.5 s blocks when not paced
                    if wait <= 0:
                        more = self._fill(n)
                        if not more and self._buf.size == 0:
                            self._ended = True
                            self._say_if_cut_short()
                            return None
                        out, self._buf = self._buf[:n], self._buf[n:]
                        self._pos += out.size
                        return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return np.zeros(0, dtype=np.float32)
            time.sleep(min(wait, remaining))
