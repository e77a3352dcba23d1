"""Streaming energy voice-activity detector.

Fed audio block by block (any block size), it works on 10 ms frames and yields
``start``/``end`` events that always alternate, like silero-vad's
``VADIterator``.  A frame is loud when its energy (after a DC blocker,
:func:`remove_dc`, and a high-pass under the voice, ``highpass_hz``) exceeds an adaptive noise floor by
``threshold_db`` (and an absolute gate, so digital silence plus dither is not
speech).  The floor follows the quietest recent frames: it falls
quickly and rises only towards the minimum frame energy of the last few
seconds (minimum statistics): speech always has quiet gaps between syllables,
a fan that was just switched on does not, so the floor follows the fan (at the
latest once it has been on for the whole window).

Timing rules (all settable, defaults in :class:`VADConfig`):

* ``onset_ms``: consecutive loud frames that open a speech candidate;
* ``min_speech_ms``: loud frames a candidate needs before it becomes an
  utterance (clicks and coughs shorter than this never do);
* ``hangover_ms``: quiet time after the last loud frame before the utterance is
  declared over; this is the end-of-speech decision delay;
* ``pre_roll_ms``: how much audio before the onset belongs to the utterance
  (reported in :attr:`VADEvent.audio_start` for whoever keeps the audio);
* ``max_utterance_s``: longer speech is cut: an ``end`` immediately followed by
  a ``start`` at the same sample.

Event times are sample indices from the first sample fed (or the offset given
to :meth:`EnergyVAD.reset`), so they work for files and live streams alike.
A stream's first ``warmup_ms`` are held until they show where its noise floor
is (see ``_set_warmup_floor``): an event in them is decided up to that much later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt

from realtime_ser.dsp.dc import remove_dc
from realtime_ser.value_checks import ABOVE_0, ANY, AT_LEAST_0, Range, check_ranges


@dataclass
class VADConfig:
    frame_ms: float = 10.0
    threshold_db: float = 12.0  # loud = energy above noise floor + this
    release_db: float = 3.0  # while in speech the threshold is lowered by this (hysteresis)
    min_level_dbfs: float = -60.0  # frames quieter than this are never speech
    onset_ms: float = 30.0
    min_speech_ms: float = 150.0
    hangover_ms: float = 300.0
    pre_roll_ms: float = 200.0
    max_utterance_s: float = 10.0
    floor_fall_s: float = 0.1  # time constant of the noise floor going down
    floor_rise_s: float = 1.0  # ... going up, towards the recent minimum energy
    floor_window_s: float = 3.0  # the floor rises to the minimum energy over this long
    initial_floor_dbfs: float = -45.0  # cap on the first frame's estimate (unless the warm-up is steady)
    warmup_ms: float = 500.0  # decisions wait for this much of a stream, to place the floor
    # Energy is measured above this (a 4th-order high-pass; 0: the DC blocker only): a voice has little
    # below it, while traffic, air conditioning, footsteps and a laptop's handling noise have most of
    # theirs there, and made utterances of their own.
    highpass_hz: float = 120.0

    def __post_init__(self):
        check_ranges(self, _VAD_RANGES)


#: What each VADConfig field may be.
_VAD_RANGES = {
    "frame_ms": Range(0.0, 1000.0, lo_open=True), "threshold_db": AT_LEAST_0, "release_db": AT_LEAST_0,
    "min_level_dbfs": ANY, "onset_ms": AT_LEAST_0, "min_speech_ms": AT_LEAST_0, "hangover_ms": AT_LEAST_0,
    "pre_roll_ms": AT_LEAST_0, "max_utterance_s": ABOVE_0, "floor_fall_s": ABOVE_0, "floor_rise_s": ABOVE_0,
    "floor_window_s": ABOVE_0, "initial_floor_dbfs": ANY, "warmup_ms": AT_LEAST_0, "highpass_hz": AT_LEAST_0,
}


@dataclass(frozen=True)
class VADEvent:
    """``kind`` is ``"start"`` or ``"end"``; samples are absolute stream positions.

    For ``start``: ``sample`` is the detected onset, ``audio_start`` includes the
    pre-roll.  For ``end``: ``sample`` is where speech stopped (end of the last
    loud frame), ``decided_at`` is the sample at which the VAD decided it
    (``sample + hangover`` for a normal end), ``reason`` is ``"silence"``,
    ``"max_length"`` or ``"flush"``.
    """

    kind: str
    sample: int
    decided_at: int
    audio_start: int = 0
    reason: str = ""


def speech_band_filter(highpass_hz: float, sample_rate: int) -> np.ndarray | None:
    """Second-order sections of the VAD's 4th-order Butterworth high-pass; None for 0 Hz (off)."""
    if highpass_hz <= 0:
        return None
    if highpass_hz >= sample_rate / 2:
        raise ValueError(f"VADConfig.highpass_hz: {highpass_hz:g} Hz is not below half the sample rate "
                         f"({sample_rate} Hz)")
    return butter(4, highpass_hz, "highpass", fs=sample_rate, output="sos")


def high_pass(x: np.ndarray, sos: np.ndarray, state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``x`` through the filter ``sos``, going on from ``state`` (None: at rest); returns ``(y, state)``,
    so that a stream's output does not depend on how it was cut into blocks."""
    zi = np.zeros((sos.shape[0], 2)) if state is None else state
    y, zf = sosfilt(sos, x, zi=zi)
    return y.astype(np.float32), zf


def frame_energies_db(frames: np.ndarray) -> np.ndarray:
    """Mean-square energy in dBFS of each row of ``frames`` (pure function)."""
    ms = np.einsum("ij,ij->i", frames, frames) / max(1, frames.shape[1])
    return 10.0 * np.log10(ms + 1e-12)


class EnergyVAD:
    """Streaming VAD; see the module docstring."""

    def __init__(self, sample_rate: int = 16000, config: VADConfig | None = None):
        self.sample_rate = int(sample_rate)
        self.config = config or VADConfig()
        self.frame = max(1, int(round(self.sample_rate * self.config.frame_ms / 1000)))
        self._pending = np.zeros(0, dtype=np.float32)
        self._band = speech_band_filter(self.config.highpass_hz, self.sample_rate)
        self.reset()

    # -- settings ---------------------------------------------------------------------
    @property
    def threshold_db(self) -> float:
        return self.config.threshold_db

    @threshold_db.setter
    def threshold_db(self, value: float) -> None:
        self.config.threshold_db = float(value)

    @property
    def noise_floor_db(self) -> float:
        return self._floor

    def set_noise_floor(self, db: float) -> None:
        """Set the floor directly (e.g. from a calibration recording of room noise)."""
        self._floor = float(db)
        self._floor_given = True

    def _frames(self, ms: float) -> int:
        return max(1, int(round(ms / self.config.frame_ms)))

    # -- state --------------------------------------------------------------------------
    def reset(self, at_sample: int = 0, keep_floor: bool = False) -> None:
        """Forget any speech in progress; the next sample fed is ``at_sample``."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._dc_state: float | None = None  # after a jump the next sample is not a continuation
        self._band_state: np.ndarray | None = None
        self._pos = int(at_sample)  # stream position of the next frame
        if not keep_floor:
            self._floor = -100.0
            self._floor_given = False  # set_noise_floor was called: the warm-up keeps that floor
            # energies of the stream's first frames, held back until they place the floor
            self._warmup: list[np.ndarray] | None = []
            self._chunk_min = 0.0
            self._chunk_len = 0
            self._minima: list[float] = []
            # the stream at its loudest so far, and how long it is (for describe_no_speech)
            self.peak_db = -120.0
            self.peak_excess_db = -120.0
            self.stream_samples = 0
        self.in_speech = False
        self._cand_start: int | None = None  # first loud frame of the current candidate/utterance
        self._run = 0  # consecutive loud frames
        self._loud = 0  # loud frames in the current candidate
        self._last_loud_end = 0  # end sample of the last loud frame
        self._utt_start = 0
        self.last_energy_db = -120.0
        # energies (dBFS) of the frames the last process() call analysed: what calibration measures
        self.frame_energies = np.zeros(0, dtype=np.float32)

    @property
    def position(self) -> int:
        """Stream position (samples) of the next frame to be analysed."""
        return self._pos

    @property
    def speech_end(self) -> int:
        """End (sample) of the last loud frame: where the utterance in progress would end if the
        hangover now running out confirmed it; lags :attr:`position` by at most the hangover."""
        return self._last_loud_end

    # -- processing ----------------------------------------------------------------------
    def __call__(self, block: np.ndarray) -> list[VADEvent]:
        return self.process(block)

    def process(self, block: np.ndarray) -> list[VADEvent]:
        """Feed mono float32 samples; return the events decided within them."""
        block, self._dc_state = remove_dc(block, self._dc_state)
        if self._band is not None:
            block, self._band_state = high_pass(block, self._band, self._band_state)
        self.stream_samples += block.size
        data = np.concatenate([self._pending, block]) if self._pending.size else block
        n = data.size // self.frame
        self._pending = data[n * self.frame :].copy()
        if n == 0:
            self.frame_energies = data[:0]
            return []
        energies = frame_energies_db(data[: n * self.frame].reshape(n, self.frame))
        self.frame_energies = energies
        if self._warmup is not None:
            self._warmup.append(energies)
            held = np.concatenate(self._warmup)
            if held.size < self._frames(self.config.warmup_ms) and not self._floor_given:
                self._set_warmup_floor(held)
                return []
            energies = self._end_warmup()
        events: list[VADEvent] = []
        for e in energies:
            self._step(float(e), events)
        return events

    def _step(self, e: float, events: list[VADEvent]) -> None:
        c = self.config
        f = self.frame
        start = self._pos
        self._pos += f
        self.last_energy_db = e
        threshold = self._floor + c.threshold_db - (c.release_db if self.in_speech else 0.0)
        if e > self.peak_db:
            self.peak_db = e
        if e > c.min_level_dbfs and e - self._floor > self.peak_excess_db:
            self.peak_excess_db = e - self._floor
        loud = e > threshold and e > c.min_level_dbfs
        self._adapt_floor(e, loud)

        loud_end_before = self._last_loud_end
        if loud:
            self._run += 1
            if self._cand_start is None and self._run >= self._frames(c.onset_ms):
                self._cand_start = start - (self._run - 1) * f
                self._loud = self._run
            elif self._cand_start is not None:
                self._loud += 1
            if self._cand_start is not None:
                self._last_loud_end = self._pos
        else:
            self._run = 0

        if self._cand_start is None:
            return
        quiet_samples = self._pos - self._last_loud_end
        hangover = self._frames(c.hangover_ms) * f
        if not self.in_speech:
            if quiet_samples >= hangover:  # candidate died before it counted as speech
                self._cand_start = None
                self._loud = 0
            elif self._loud >= self._frames(c.min_speech_ms):
                self.in_speech = True
                self._utt_start = self._cand_start
                events.append(self._start_event(self._cand_start))
            return
        if quiet_samples >= hangover:
            events.append(VADEvent("end", self._last_loud_end, self._pos, reason="silence"))
            self.in_speech = False
            self._cand_start = None
            self._loud = 0
            return
        # Over the length limit, cut where speech goes on (this frame is loud): in a pause the
        # hangover may yet end the utterance, and a cut there opened one that ended before it began.
        # A pause just before is left out of both parts.
        if quiet_samples == 0 and self._pos - self._utt_start >= int(c.max_utterance_s * self.sample_rate):
            events.append(VADEvent("end", loud_end_before, self._pos, reason="max_length"))
            events.append(VADEvent("start", start, self._pos, audio_start=start))
            self._utt_start = start
            self._cand_start = start

    # Why a warm-up: the floor is the energy of the quietest recent frames, and at a stream's
    # start there are none yet.  The first frame may be speech, so it is trusted only up to a
    # quiet room's level (initial_floor_dbfs), and a steady noise louder than that (a fan near
    # the microphone) made every start an "utterance" of noise lasting until the floor caught
    # up.  So decisions wait for the first half second: when nothing in it rises threshold_db
    # above its quietest frame there is nothing but background to see, and the floor starts at
    # that quietest frame, however loud.  Otherwise the capped first frame, as before.  Events
    # keep their true sample positions; those in the warm-up are only decided later.
    def _set_warmup_floor(self, held: np.ndarray) -> None:
        if self._floor_given:
            return
        c = self.config
        quietest = max(float(held.min()), -100.0)
        cap = c.initial_floor_dbfs
        if float(held.max()) - quietest < c.threshold_db:
            cap = max(cap, quietest)
        self._floor = min(max(float(held[0]), -100.0), cap)

    def _end_warmup(self) -> np.ndarray:
        """Place the floor from the warm-up's frames and return all held ones, to be analysed with it.
        Only the first ``warmup_ms`` count, however large the block that completed them: a whole
        file fed at once, speech and all, made every noisy start look like speech (the events
        depended on the block size)."""
        held = np.concatenate(self._warmup) if self._warmup else np.zeros(0, dtype=np.float32)
        self._warmup = None
        if held.size:
            self._set_warmup_floor(held[: self._frames(self.config.warmup_ms)])
        return held

    def _start_event(self, onset: int) -> VADEvent:
        pre = int(self.config.pre_roll_ms * self.sample_rate / 1000)
        return VADEvent("start", onset, self._pos, audio_start=max(0, onset - pre))

    def _adapt_floor(self, e: float, loud: bool) -> None:
        c = self.config
        e = max(e, -100.0)
        frame_s = c.frame_ms / 1000.0
        # minimum statistics: minima of 0.5 s chunks over the last floor_window_s
        chunk = max(1, int(round(0.5 / frame_s)))
        self._chunk_min = e if self._chunk_len == 0 else min(self._chunk_min, e)
        self._chunk_len += 1
        if self._chunk_len >= chunk:
            self._minima.append(self._chunk_min)
            window = max(1, int(round(c.floor_window_s / 0.5)))
            del self._minima[:-window]
            self._chunk_len = 0
            # A floor more than threshold_db under every frame of a whole window is stale: a new,
            # louder noise (a fan switched on), since speech comes back near the floor between
            # words within that long.  Rising towards it at floor_rise_s kept the noise an
            # "utterance" for 2 s more; the floor goes there at once.
            if len(self._minima) == window and min(self._minima) > self._floor + c.threshold_db:
                self._floor = min(self._minima)
        if e < self._floor:
            self._floor += (e - self._floor) * (1.0 - np.exp(-frame_s / c.floor_fall_s))
        elif self._minima:
            target = min(min(self._minima), self._chunk_min)
            if target > self._floor:
                self._floor += (target - self._floor) * (1.0 - np.exp(-frame_s / c.floor_rise_s))

    def flush(self) -> list[VADEvent]:
        """End of stream: close an utterance still open (reason ``"flush"``)."""
        if self._warmup is not None:  # a stream shorter than the warm-up: decide on what there is
            events: list[VADEvent] = []
            for e in self._end_warmup():
                self._step(float(e), events)
            return events + self.flush()
        if not self.in_speech:
            self._cand_start = None
            return []
        self.in_speech = False
        self._cand_start = None
        return [VADEvent("end", self._last_loud_end, self._pos, reason="flush")]


#: How every describe_no_speech message starts (front ends recognise it by this).
NO_SPEECH = "no speech found"
#: Its advice, which a front end may name its own control in (``--threshold-db``, *Sensitivity*).
LOWER_THRESHOLD = "a lower VAD threshold"


def describe_no_speech(peak_db: float, peak_excess_db: float, config: VADConfig,
                       duration_s: float | None = None) -> str:
    """Why a stream with no utterance had none, in words a user can act on.

    ``peak_db`` is the loudest 10 ms frame (dBFS); ``peak_excess_db`` the most any
    frame above the gate rose over the noise floor of its moment (the quantity the
    threshold is compared with).  Soft speech in a noisy recording is the common
    case; the message says how far it fell short.  ``duration_s`` (the stream's
    length, :attr:`EnergyVAD.stream_samples`) matters for a clip shorter than
    ``min_speech_ms``: no threshold finds speech there, so the message must not suggest one.
    """
    if peak_db <= -90.0:
        return f"{NO_SPEECH}: the audio is silent"
    if duration_s is not None and duration_s < config.min_speech_ms / 1000.0:
        return (f"{NO_SPEECH}: the audio is only {duration_s:.2f} s long, shorter than the "
                f"{config.min_speech_ms:.0f} ms speech must last")
    if peak_db <= config.min_level_dbfs:
        return (f"{NO_SPEECH}: the audio is very quiet (loudest moment {peak_db:.0f} dBFS; "
                f"speech must reach {config.min_level_dbfs:.0f} dBFS)")
    hint = f"({LOWER_THRESHOLD} finds quieter speech)"
    rule = f"{config.threshold_db:g} dB above the background noise for {config.min_speech_ms:.0f} ms"
    if peak_excess_db < config.threshold_db:
        return (f"{NO_SPEECH}: the loudest moment is {max(peak_excess_db, 0.0):.0f} dB above the "
                f"background noise, speech must stay {rule} {hint}")
    return (f"{NO_SPEECH}: nothing stayed {rule}; the loudest moment rose {peak_excess_db:.0f} dB above it, "
            f"too briefly {hint}")
