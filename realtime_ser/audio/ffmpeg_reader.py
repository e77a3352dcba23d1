"""Reading the formats libsndfile does not: M4A/AAC, MP4 and other video containers, WebM, WMA, AMR.

Phone voice memos, Zoom and Teams recordings and interview videos come in these containers.
FFmpeg (through PyAV, whose wheels bundle it) decodes the first audio stream; :class:`FFmpegReader`
offers the small part of ``soundfile.SoundFile`` that :mod:`realtime_ser.audio.io` uses (``samplerate``,
``channels``, ``frames``, ``seek``, ``read``), so every caller decodes these files exactly as it decodes
a WAV: incrementally, seekable, with the same one-line errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np

from realtime_ser.errors import AudioFileError

#: Containers sent straight to FFmpeg (libsndfile cannot read them).
FFMPEG_EXTENSIONS = (".m4a", ".m4b", ".mp4", ".aac", ".webm", ".mka", ".mkv", ".mov", ".wma", ".3gp", ".amr")

#: How far before a seek position decoding starts (Opus asks for 80 ms of pre-roll; AAC for 2 frames).
SEEK_PREROLL_S = 0.1

#: Damaged packets skipped in a row before a file is given up as corrupt, and the longest gap that
#: one skip may fill with silence (a timestamp further on is itself damage, not a gap to fill).
MAX_DAMAGED_IN_A_ROW, MAX_GAP_S = 50, 5.0


def _reason(exc: BaseException) -> str:
    """FFmpeg's own words, without PyAV's "[Errno N] ... : 'path'" wrapping."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).splitlines()[0].strip() or type(exc).__name__


class FFmpegReader:
    """The first audio stream of a file, decoded by FFmpeg into float32 frames (samples x channels).

    ``frames`` is the container's duration, which for compressed streams is an estimate good to a
    few milliseconds (encoder padding); reading simply stops where the stream ends.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            import av  # imported here: only these formats need it, and it loads FFmpeg's libraries
        except ImportError:  # a dependency of the package, but an install can lack it
            raise AudioFileError(f"{self.path}: reading this format needs PyAV (pip install av)") from None
        self._av = av
        try:
            self._container = av.open(str(self.path), mode="r", metadata_errors="ignore")
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise AudioFileError(f"{self.path}: cannot decode audio ({_reason(exc)})") from None
        try:
            if not self._container.streams.audio:
                raise AudioFileError(f"{self.path}: has no audio stream")
            self._stream = self._container.streams.audio[0]
            ctx = self._stream.codec_context
            self.samplerate = int(ctx.sample_rate or 0)
            self.channels = int(ctx.channels or 0)
            self._origin = self._stream.start_time or 0  # in the stream's time base
        except BaseException:
            self._container.close()
            raise
        self._restart(0)

    @cached_property
    def frames(self) -> int:
        """Computed when first asked (a duration, a seek): a file that states none is read through."""
        s = self._stream
        if s.duration is not None and s.time_base is not None:
            seconds = float(s.duration * s.time_base)
        elif self._container.duration is not None:
            seconds = self._container.duration / 1_000_000  # AV_TIME_BASE
        else:
            seconds = self._duration_from_packets()
        return max(0, int(round(seconds * self.samplerate)))

    def _duration_from_packets(self) -> float:
        """The end of the last packet: for files that state no duration (a browser's WebM recording).

        Reads the file once without decoding it, in a second handle so this one stays at the start.
        """
        av, end = self._av, 0
        try:
            with av.open(str(self.path), mode="r", metadata_errors="ignore") as probe:
                stream = probe.streams.audio[0]
                for packet in probe.demux(stream):
                    if packet.pts is not None and packet.time_base is not None:
                        end = max(end, float((packet.pts + (packet.duration or 0) - self._origin)
                                             * packet.time_base))
        except av.FFmpegError:
            pass  # a damaged tail: the packets before it have counted
        return end

    # --- decoding ---------------------------------------------------------------------------------

    def _restart(self, skip_to_frame: int) -> None:
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0
        self._chunks = self._decoded_chunks(skip_to_frame)

    def _decoded_chunks(self, skip_to_frame: int) -> Iterator[np.ndarray]:
        """Float32 (n, channels) arrays in stream order, the first ``skip_to_frame`` frames dropped.

        A damaged packet is skipped and its time filled with silence (from the next frame's
        timestamp), so one bad block of a long recording costs its few milliseconds, not the
        recording; :data:`MAX_DAMAGED_IN_A_ROW` bad packets in a row end it with an error.
        """
        av = self._av
        # Packed float32 in the stream's own layout and rate: a format change only, no resampling delay.
        resampler = av.AudioResampler(format="flt", layout=self._stream.codec_context.layout,
                                      rate=self.samplerate)
        position = None  # frame index of the next sample to come out
        damaged_in_a_row, gap_after_damage = 0, False

        def emit(chunk: np.ndarray) -> np.ndarray | None:
            nonlocal position
            drop = max(0, min(chunk.shape[0], skip_to_frame - position))
            position += chunk.shape[0]
            return chunk[drop:] if drop < chunk.shape[0] else None

        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:  # decoders say so in several ways (invalid data, EPERM, ...)
                    damaged_in_a_row += 1
                    if damaged_in_a_row >= MAX_DAMAGED_IN_A_ROW:
                        raise AudioFileError(
                            f"{self.path}: corrupt audio ({damaged_in_a_row} damaged blocks in a row)"
                        ) from None
                    gap_after_damage = True
                    continue
                damaged_in_a_row = 0
                for frame in frames:
                    index = self._frame_index(frame)
                    if position is None:
                        position = index
                    elif gap_after_damage and 0 < index - position < MAX_GAP_S * self.samplerate:
                        out = emit(np.zeros((index - position, self.channels), np.float32))
                        if out is not None:
                            yield out
                    gap_after_damage = False
                    for converted in resampler.resample(frame):
                        out = emit(converted.to_ndarray().reshape(-1, self.channels))
                        if out is not None:
                            yield out
            for converted in resampler.resample(None):
                yield converted.to_ndarray().reshape(-1, self.channels)
        except (av.FFmpegError, ValueError) as exc:
            raise AudioFileError(f"{self.path}: corrupt or truncated audio ({_reason(exc)})") from None

    def _frame_index(self, frame) -> int:
        """Index of a decoded frame's first sample, counted from the stream's start (priming is negative)."""
        tb = frame.time_base or self._stream.time_base
        if frame.pts is None or not tb:
            return 0
        return int(round(float((frame.pts - self._origin) * tb) * self.samplerate))

    # --- the SoundFile subset ------------------------------------------------------------------

    def seekable(self) -> bool:
        return True

    def seek(self, frame: int) -> None:
        """Go to ``frame``: FFmpeg seeks to a packet before it, the rest is decoded and dropped.

        The seek aims :data:`SEEK_PREROLL_S` early: AAC and Opus decoders need the frames before a
        position (overlapping transforms, Opus' pre-roll) to decode it exactly as a full decode does.
        """
        frame = max(0, int(frame))
        try:
            seconds = max(0.0, frame / self.samplerate - SEEK_PREROLL_S)
            target = self._origin + int(seconds / self._stream.time_base)
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except (self._av.FFmpegError, ValueError, OverflowError) as exc:
            raise AudioFileError(f"{self.path}: cannot seek in this file ({_reason(exc)})") from None
        self._restart(frame)

    def read(self, frames: int, dtype: str = "float32", always_2d: bool = True) -> np.ndarray:
        """Up to ``frames`` frames as a float32 (n, channels) array; fewer only at the end of the stream."""
        if dtype != "float32" or not always_2d:
            raise ValueError("FFmpegReader reads float32 2-D frames only")
        while self._pending_frames < frames:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending.append(chunk)
            self._pending_frames += chunk.shape[0]
        if not self._pending:
            return np.zeros((0, self.channels), np.float32)
        data = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        out, rest = data[:frames], data[frames:]
        self._pending = [rest] if rest.shape[0] else []
        self._pending_frames = rest.shape[0]
        return np.ascontiguousarray(out, dtype=np.float32)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> FFmpegReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
