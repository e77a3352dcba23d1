"""Live audio from a WAV stream on a pipe: ``arecord -t wav ... | realtime-ser listen --device -``.

Any program that records can feed the pipeline this way: ``arecord``, ``parec``/``pw-record``,
``sox -d``, ``ffmpeg``, or a microphone on another machine (``ssh host arecord ... | ...``), where
PortAudio sees no device.  libsndfile reads a WAV stream from a pipe (it does not seek there, and
takes a streamed header's unknown length as "until the end"), and an AU stream (what ``pw-record -``
writes).  Headerless PCM (``parec``'s default, older ``pw-record``) is read when its layout is
given (:class:`RawFormat`, ``--raw s16le:44100:2``): nothing in the bytes says what they are.

A reader thread decodes the pipe and hands blocks to :meth:`PipeSource.read` through a small
bounded queue.  Unlike the PortAudio callback, it may block: when the pipeline falls behind, the
pipe fills and the writer waits (or, live, reports its own overrun), so no audio is dropped here.
A piped file is then analysed at the pipeline's pace, and a live stream in real time.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from realtime_ser.audio.io import (
    MAX_CHANNELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_channel,
    check_header,
    clip_to_full_scale,
    to_mono,
)
from realtime_ser.audio.sources import MODEL_RATE, AudioSource
from realtime_ser.errors import AudioFileError

#: How standard input is named (the status line, a recorded session, messages).
STDIN_NAME = "standard input"
#: Blocks the reader thread may be ahead of the pipeline (at 20 ms each, 2 s).
_QUEUE_BLOCKS = 100
_END = None

#: Sample formats of headerless PCM, in ffmpeg's names (``-f s16le``; parec takes the same), as
#: libsndfile's (subtype, endianness); a name without an endianness is little-endian, as PCs are.
RAW_SAMPLE_FORMATS = {
    "u8": ("PCM_U8", "FILE"), "s8": ("PCM_S8", "FILE"),
    "s16le": ("PCM_16", "LITTLE"), "s16be": ("PCM_16", "BIG"),
    "s24le": ("PCM_24", "LITTLE"), "s24be": ("PCM_24", "BIG"),
    "s32le": ("PCM_32", "LITTLE"), "s32be": ("PCM_32", "BIG"),
    "f32le": ("FLOAT", "LITTLE"), "f32be": ("FLOAT", "BIG"),
    "f64le": ("DOUBLE", "LITTLE"), "f64be": ("DOUBLE", "BIG"),
}
for _name in ("s16", "s24", "s32", "f32", "f64"):
    RAW_SAMPLE_FORMATS[_name] = RAW_SAMPLE_FORMATS[_name + "le"]
RAW_SPEC = "FORMAT:RATE[:CHANNELS]"


@dataclass(frozen=True)
class RawFormat:
    """The layout of headerless PCM: ``sample_format`` (a key of RAW_SAMPLE_FORMATS), rate in Hz, channels."""

    sample_format: str
    rate: int
    channels: int = 1

    @classmethod
    def parse(cls, text: str) -> RawFormat:
        """``s16le:44100:2`` (channels default to 1); ValueError saying what is wrong."""
        parts = text.strip().lower().split(":")
        if not 2 <= len(parts) <= 3:
            raise ValueError(f"{text!r} is not {RAW_SPEC} (such as s16le:44100:2)")
        name, rate, channels = parts[0], parts[1], parts[2] if len(parts) == 3 else "1"
        if name not in RAW_SAMPLE_FORMATS:
            raise ValueError(f"unknown sample format {parts[0]!r} (one of {', '.join(RAW_SAMPLE_FORMATS)})")
        if not (rate.isdigit() and channels.isdigit()):
            raise ValueError(f"{text!r}: the rate and the channel count are whole numbers (such as s16le:44100:2)")
        raw = cls(name, int(rate), int(channels))
        if not MIN_SAMPLE_RATE <= raw.rate <= MAX_SAMPLE_RATE:  # the bounds a file's header is held to
            raise ValueError(f"a rate of {raw.rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}")
        if not 1 <= raw.channels <= MAX_CHANNELS:
            raise ValueError(f"{raw.channels} channels is outside 1..{MAX_CHANNELS}")
        return raw

    def open(self, fd: int) -> sf.SoundFile:
        subtype, endian = RAW_SAMPLE_FORMATS[self.sample_format]
        return sf.SoundFile(fd, closefd=False, format="RAW", samplerate=self.rate, channels=self.channels,
                            subtype=subtype, endian=endian)


class PipeSource(AudioSource):
    """WAV audio arriving on file descriptor ``fd`` (a pipe), delivered as it comes.

    ``start`` reads the header (waiting for the writer's first bytes) and raises AudioFileError for
    anything that is not a WAV (or AU) stream; a stream cut or damaged later is raised from ``read``.
    ``max_seconds``: the stream ends after this much audio (``listen --duration``), to the sample,
    however fast it arrives.  ``raw``: the stream is headerless PCM of that layout.
    """

    def __init__(self, fd: int, name: str = STDIN_NAME, channel: int | None = None, block_ms: float = 20.0,
                 max_seconds: float | None = None, raw: RawFormat | None = None):
        self.fd = fd
        self.raw = raw
        self.remaining = None if max_seconds is None else int(round(max_seconds * MODEL_RATE))
        self.name = name
        self.channel = channel
        self.block_ms = block_ms
        self.capture_rate = 0
        self._queue: queue.Queue = queue.Queue(_QUEUE_BLOCKS)
        self._error: str | None = None
        self._ended = False
        self._running = False
        self._resampler = None

    def start(self) -> None:
        if os.isatty(self.fd):
            raise AudioFileError(f"{self.name}: a terminal, not audio; pipe a WAV stream in "
                                 "(`arecord -t wav -f S16_LE -r 16000 | realtime-ser listen --device -`)")
        try:
            f = sf.SoundFile(self.fd, closefd=False) if self.raw is None else self.raw.open(self.fd)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            detail = str(exc).split("\n")[0].split(": ", 1)[-1]
            if self.raw is not None:
                raise AudioFileError(f"{self.name}: cannot be read as {self.raw.sample_format} PCM ({detail})") from None
            if "flac" in detail.lower():  # libsndfile's FLAC decoder must seek, which a pipe cannot
                raise AudioFileError(f"{self.name}: FLAC cannot be read from a pipe; convert it on the way "
                                     "(`ffmpeg -i - -f wav -`), or give the file itself with `<`") from None
            raise AudioFileError(f"{self.name}: not a WAV or AU stream ({detail}); pipe WAV, e.g. `ffmpeg ... -f wav -`, "
                                 "or give the layout of headerless PCM with --raw (such as s16le:44100:2)") from None
        try:
            check_header(self.name, f.samplerate, f.channels)
            check_channel(self.name, f.channels, self.channel)
        except AudioFileError:
            f.close()
            raise
        self.capture_rate = f.samplerate
        self._resampler = (None if f.samplerate == MODEL_RATE
                           else soxr.ResampleStream(f.samplerate, MODEL_RATE, 1, dtype="float32", quality="HQ"))
        self._running = True
        threading.Thread(target=self._reader, args=(f,), name="realtime-ser-pipe", daemon=True).start()

    def _reader(self, f: sf.SoundFile) -> None:
        """Decode the pipe into the queue until it ends (or the source stops)."""
        frames = max(1, int(f.samplerate * self.block_ms / 1000))
        try:
            while self._running:
                block = f.read(frames, dtype="float32", always_2d=True)
                if not len(block):
                    break
                self._queue.put(to_mono(block, self.channel))
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self._error = f"{self.name}: the stream broke off ({str(exc).splitlines()[0]})"
        finally:
            self._queue.put(_END)

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        if not self._running or self._ended:
            return None
        try:
            native = self._queue.get(timeout=timeout)
        except queue.Empty:
            return np.zeros(0, dtype=np.float32)
        last = native is _END
        if last:
            self._ended = True
            if self._error:
                raise AudioFileError(self._error)
            native = np.zeros(0, dtype=np.float32)
        resampler = self._resampler
        if resampler is None and self.capture_rate != MODEL_RATE:  # stopped meanwhile
            return None
        block = native if resampler is None else resampler.resample_chunk(native, last=last)
        block = clip_to_full_scale(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0))
        if self.remaining is not None:
            block = block[: self.remaining]
            self.remaining -= block.size
            if self.remaining == 0:
                self._ended = True
        return block if block.size or not last else None

    def stop(self) -> None:
        self._running = False
        # The reader thread may wait in read for ever (a writer that keeps its end open), keeping this
        # object alive at exit: a resampler still held then is reported "leaked" by nanobind on stderr.
        self._resampler = None
        try:  # let a reader waiting on a full queue see the stop
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
