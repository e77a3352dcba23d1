"""Preallocated ring buffers behind the scrolling views (Qt-free, numpy only).

The GUI timer feeds whatever audio arrived since the last frame into these and
then copies them, in chronological order, into display arrays that were also
allocated once.  Nothing proportional to the 10 s window is allocated per
frame; only the few new samples/frames are processed.
"""

from __future__ import annotations

import numpy as np

from realtime_ser.dsp.features import FeatureParams, log_mel_spectrogram

SILENCE_DB = -100.0


def _unroll(ring: np.ndarray, head: int, out: np.ndarray) -> None:
    """Copy a ring whose oldest element is at ``head`` into ``out`` oldest-first (no allocation)."""
    n = ring.shape[0] - head
    out[:n] = ring[head:]
    out[n:] = ring[:head]


class WaveformEnvelope:
    """Min/max envelope of the last ``seconds`` of audio, one pair per display column.

    Drawing 160,000 samples per frame would be wasteful; a column of
    ``samples_per_column`` samples is summarised by its min and max, which is
    what a screen can show anyway.
    """

    def __init__(self, sample_rate: int, seconds: float = 10.0, columns: int = 2000):
        self.sample_rate = sample_rate
        self.seconds = seconds
        self.columns = columns
        self.samples_per_column = max(1, int(round(sample_rate * seconds / columns)))
        self.column_seconds = self.samples_per_column / sample_rate
        self._mins = np.zeros(columns, np.float32)
        self._maxs = np.zeros(columns, np.float32)
        self._head = 0  # next column to write == oldest column
        self._partial = np.zeros(self.samples_per_column, np.float32)
        self._partial_fill = 0
        self.total_samples = 0
        # Display arrays: x/y pairs (min then max) per column, chronological.
        self._ordered = np.zeros((2, columns), np.float32)
        self.x = np.zeros(2 * columns, np.float64)
        self.y = np.zeros(2 * columns, np.float32)
        self._column_offsets = np.repeat(np.arange(columns, dtype=np.float64), 2) * self.column_seconds

    @property
    def end_time(self) -> float:
        """Stream time (s) just after the newest sample pushed."""
        return self.total_samples / self.sample_rate

    def reset(self, start_time: float = 0.0) -> None:
        self._mins[:] = 0.0
        self._maxs[:] = 0.0
        self._head = 0
        self._partial_fill = 0
        self.total_samples = int(round(start_time * self.sample_rate))

    def _put(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        n = mins.shape[0]
        if n >= self.columns:
            mins, maxs, n = mins[-self.columns :], maxs[-self.columns :], self.columns
        first = min(n, self.columns - self._head)
        self._mins[self._head : self._head + first] = mins[:first]
        self._maxs[self._head : self._head + first] = maxs[:first]
        rest = n - first
        if rest:
            self._mins[:rest] = mins[first:]
            self._maxs[:rest] = maxs[first:]
        self._head = (self._head + n) % self.columns

    def push(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        self.total_samples += block.size
        spc = self.samples_per_column
        pos = 0
        if self._partial_fill:
            take = min(spc - self._partial_fill, block.size)
            self._partial[self._partial_fill : self._partial_fill + take] = block[:take]
            self._partial_fill += take
            pos = take
            if self._partial_fill == spc:
                self._put(self._partial.min(keepdims=True), self._partial.max(keepdims=True))
                self._partial_fill = 0
        whole = (block.size - pos) // spc
        if whole:
            cols = block[pos : pos + whole * spc].reshape(whole, spc)
            self._put(cols.min(axis=1), cols.max(axis=1))
            pos += whole * spc
        left = block.size - pos
        if left:
            self._partial[:left] = block[pos:]
            self._partial_fill = left

    def update_display(self) -> tuple[np.ndarray, np.ndarray]:
        """Fill and return the (x, y) display arrays; x is stream time in seconds."""
        _unroll(self._mins, self._head, self._ordered[0])
        _unroll(self._maxs, self._head, self._ordered[1])
        self.y.reshape(self.columns, 2)[:] = self._ordered.T
        complete_end = (self.total_samples - self._partial_fill) / self.sample_rate
        start = complete_end - self.columns * self.column_seconds
        np.add(self._column_offsets, start, out=self.x)
        return self.x, self.y


class MelSpectrogramRing:
    """Log-mel frames of the last ``seconds`` of audio, computed incrementally.

    Uses the model's own :func:`log_mel_spectrogram` on just the new samples
    (plus the overlap a frame needs), so the picture is exactly what the
    model's features start from.
    """

    def __init__(self, params: FeatureParams, seconds: float = 10.0):
        self.params = params
        self.frames = int(round(seconds * params.sample_rate / params.hop_length))
        self.n_mels = params.n_mels
        self._ring = np.full((self.frames, self.n_mels), SILENCE_DB, np.float32)
        self._head = 0
        self.image = np.full((self.frames, self.n_mels), SILENCE_DB, np.float32)
        self._pending = np.zeros(params.n_fft + params.sample_rate, np.float32)  # grows if needed
        self._pending_fill = 0
        self.total_frames = 0
        self.start_offset = 0.0  # stream time of sample 0 (after a reset)

    def reset(self, start_time: float = 0.0) -> None:
        self._ring[:] = SILENCE_DB
        self._head = 0
        self._pending_fill = 0
        self.total_frames = 0
        self.start_offset = start_time

    def push(self, audio: np.ndarray) -> int:
        """Add new samples; returns the number of new spectrogram frames."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        need = self._pending_fill + audio.size
        if need > self._pending.size:
            grown = np.zeros(max(need, 2 * self._pending.size), np.float32)
            grown[: self._pending_fill] = self._pending[: self._pending_fill]
            self._pending = grown
        self._pending[self._pending_fill : need] = audio
        self._pending_fill = need
        p = self.params
        if need < p.n_fft:
            return 0
        n_new = 1 + (need - p.n_fft) // p.hop_length
        used = (n_new - 1) * p.hop_length + p.n_fft
        mel = log_mel_spectrogram(self._pending[:used], p)[:n_new]
        self._write(mel)
        consumed = n_new * p.hop_length
        rest = need - consumed
        self._pending[:rest] = self._pending[consumed:need]
        self._pending_fill = rest
        self.total_frames += n_new
        return n_new

    def _write(self, mel: np.ndarray) -> None:
        n = mel.shape[0]
        if n >= self.frames:
            mel, n = mel[-self.frames :], self.frames
        first = min(n, self.frames - self._head)
        self._ring[self._head : self._head + first] = mel[:first]
        if n > first:
            self._ring[: n - first] = mel[first:]
        self._head = (self._head + n) % self.frames

    @property
    def end_time(self) -> float:
        """Stream time of the end of the newest frame's hop (frames are ``hop`` apart)."""
        p = self.params
        return self.start_offset + (self.total_frames * p.hop_length + (p.n_fft - p.hop_length) / 2) / p.sample_rate

    def update_display(self) -> np.ndarray:
        """Fill and return the (frames, n_mels) image, oldest frame first."""
        _unroll(self._ring, self._head, self.image)
        return self.image
