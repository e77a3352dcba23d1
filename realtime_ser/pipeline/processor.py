"""The single-threaded heart of the pipeline: audio blocks in, events out.

:class:`StreamProcessor` owns the VAD, a bounded history of recent audio and
the utterance in progress.  The live worker thread and file analysis both feed
it block by block, so a file analysed offline gets exactly the events a
microphone would have produced (openWakeWord's ``predict_clip`` idea).

* While an utterance is open, a **partial** EmotionEvent is emitted every
  ``partial_interval_s`` over the last model window (3 s) of the utterance;
  its ``end`` is the end of the speech so far (the last loud frame), like the
  final's, so no partial ends after its utterance does.
* When the VAD closes it, the **final** event covers the whole utterance
  (pre-roll included) with :meth:`EmotionModel.predict_segment` semantics:
  overlapping windows, mean probabilities, the same features as training.
  Segments shorter than ``min_segment_s`` are widened with the audio around
  them before the model's repeat-to-fill padding; long speech was already cut
  by the VAD's maximum utterance length.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from realtime_ser.dsp.vad import EnergyVAD, VADConfig, VADEvent, describe_no_speech
from realtime_ser.pipeline.events import EmotionEvent, PipelineEvent, SpeechEvent, StatusEvent
from realtime_ser.pipeline.smoothing import ProbabilitySmoother, label_probabilities
from realtime_ser.value_checks import ABOVE_0, AT_LEAST_0, Range, check_ranges


@dataclass
class PipelineConfig:
    """Every setting of the streaming pipeline (the GUI's settings dialog edits these)."""

    vad: VADConfig = field(default_factory=VADConfig)
    partial_interval_s: float = 0.5  # partial results while speaking (requirement: <= 1 s)
    emit_partials: bool = True
    min_segment_s: float = 0.6  # shorter utterances are widened with surrounding audio
    segment_hop_s: float = 1.5  # window hop for pooling long utterances (as predict_segment)
    confidence_threshold: float = 0.4  # below: label "uncertain"
    smoothing: float = 0.3  # EMA weight of earlier partials within an utterance (0 = off)
    post_roll_ms: float = 150.0  # audio after the last loud frame included in the final segment

    def __post_init__(self):
        if not isinstance(self.vad, VADConfig):
            raise TypeError(f"PipelineConfig.vad: expected a VADConfig, not {type(self.vad).__name__}")
        check_ranges(self, _PIPELINE_RANGES)

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineConfig":
        data = dict(data)
        vad = VADConfig(**data.pop("vad", {}))
        return cls(vad=vad, **data)


#: What each numeric PipelineConfig field may be. A confidence threshold over 1 is allowed:
#: every result is then "uncertain".
_PIPELINE_RANGES = {
    "partial_interval_s": ABOVE_0, "min_segment_s": AT_LEAST_0, "segment_hop_s": ABOVE_0,
    "confidence_threshold": AT_LEAST_0, "smoothing": Range(0.0, 1.0, hi_open=True), "post_roll_ms": AT_LEAST_0,
}


_WARM_MODELS: "weakref.WeakSet" = weakref.WeakSet()


def warm_up(model) -> None:
    """Run one inference so the first real one is not slowed by lazy initialisation
    (librosa's filter caches, the TFLite delegate): it would count as latency."""
    if model is None or model in _WARM_MODELS:
        return
    model.predict_window(np.zeros(model.params.window_samples // 4, dtype=np.float32) + 1e-4)
    _WARM_MODELS.add(model)


class _History:
    """The most recent audio, addressable by absolute stream sample."""

    def __init__(self, capacity: int):
        self._buf = np.zeros(2 * capacity, dtype=np.float32)
        self._keep = capacity
        self._n = 0
        self.end = 0  # absolute sample after the last stored one

    def reset(self, at_sample: int) -> None:
        self._n = 0
        self.end = at_sample

    def append(self, block: np.ndarray) -> None:
        m = block.size
        if m >= self._keep:
            self._buf[: self._keep] = block[-self._keep :]
            self._n = self._keep
        else:
            if self._n + m > self._buf.size:
                keep = self._keep - m
                self._buf[:keep] = self._buf[self._n - keep : self._n]
                self._n = keep
            self._buf[self._n : self._n + m] = block
            self._n += m
        self.end += m

    @property
    def start(self) -> int:
        return self.end - self._n

    def slice(self, a: int, b: int) -> np.ndarray:
        a = max(a, self.start)
        b = min(b, self.end)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        off = self._n - (self.end - a)
        return self._buf[off : off + (b - a)].copy()


class StreamProcessor:
    """Feeds a VAD and the model; see the module docstring.

    Utterances are numbered from ``first_utterance_id + 1``: a stream that continues an earlier
    one (a replay played again from a point) goes on with its numbering.
    """

    def __init__(self, model, config: PipelineConfig | None = None, sample_rate: int = 16000,
                 first_utterance_id: int = 0):
        self.model = model
        self.config = config or PipelineConfig()
        self.sr = sample_rate
        if model is not None and model.params.sample_rate != sample_rate:
            raise ValueError("model sample rate differs from the stream's")
        self.vad = EnergyVAD(sample_rate, self.config.vad)
        if model is not None:
            model.reset_session()  # a new stream: a speaker learnt from an earlier one does not carry over
        warm_up(model)
        c = self.config.vad
        seconds = c.max_utterance_s + (c.pre_roll_ms + c.hangover_ms) / 1000 + self.config.min_segment_s + 1.0
        self.history = _History(int(seconds * sample_rate))
        self.smoother = ProbabilitySmoother(self.config.smoothing)
        self.utterance_id = first_utterance_id
        self._utt: VADEvent | None = None
        self._next_partial = 0
        self._calib_left = 0
        self._calib_energies: list[np.ndarray] = []
        self.last_latency_ms: float | None = None
        self.utterances = 0
        self.partials = 0
        self.finals = 0

    # -- clock ----------------------------------------------------------------------------
    @property
    def position(self) -> int:
        """Samples of stream time fed so far."""
        return self.history.end

    @property
    def stream_time(self) -> float:
        return self.history.end / self.sr

    @property
    def in_speech(self) -> bool:
        return self._utt is not None

    # -- controls -------------------------------------------------------------------------
    def set_threshold_db(self, db: float) -> None:
        self.vad.threshold_db = db

    def calibrate_noise(self, seconds: float) -> None:
        """Measure the next ``seconds`` of audio as room noise and set the VAD's floor from it."""
        self._calib_left = int(seconds * self.sr)
        self._calib_energies = []

    # -- processing -----------------------------------------------------------------------
    def feed(self, block: np.ndarray) -> list[PipelineEvent]:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        events: list[PipelineEvent] = []
        if block.size == 0:
            return events
        self.history.append(block)
        vad_events = self.vad.process(block)
        if self._calib_left > 0:
            self._calibrate_step(block.size, events)
        for ev in vad_events:
            self._on_vad(ev, events)
        if (
            self._utt is not None
            and self.model is not None
            and self.config.emit_partials
            and self.vad.position >= self._next_partial
        ):
            events.append(self._partial())
            self._next_partial = self.vad.position + int(self.config.partial_interval_s * self.sr)
        return events

    def flush(self) -> list[PipelineEvent]:
        """End of stream: close the open utterance (its final event is emitted)."""
        events: list[PipelineEvent] = []
        for ev in self.vad.flush():
            self._on_vad(ev, events)
        return events

    def no_speech_status(self) -> StatusEvent | None:
        """At the end of a stream that held no utterance: a warning saying why (else None)."""
        if self.utterances:
            return None
        vad = self.vad
        message = describe_no_speech(vad.peak_db, vad.peak_excess_db, vad.config, vad.stream_samples / self.sr)
        return StatusEvent("warning", message, self.stream_time)

    def discontinuity(self, gap_samples: int) -> list[PipelineEvent]:
        """``gap_samples`` of audio were lost: close the utterance, keep the clock right."""
        events = self.flush()
        at = self.position + int(gap_samples)
        self.vad.reset(at_sample=at, keep_floor=True)
        self.history.reset(at)
        return events

    def reset(self, at_sample: int) -> list[PipelineEvent]:
        """The stream jumped (seek): close the utterance and restart the clock at ``at_sample``."""
        events = self.flush()
        self.vad.reset(at_sample=at_sample, keep_floor=True)
        self.history.reset(at_sample)
        return events

    def _calibrate_step(self, samples: int, events: list) -> None:
        # the VAD's own frame energies (DC removed), so the floor is set in the units it compares with
        if self.vad.frame_energies.size:
            self._calib_energies.append(self.vad.frame_energies)
        self._calib_left -= samples
        if self._calib_left <= 0 and self._calib_energies:
            floor = float(np.median(np.concatenate(self._calib_energies)))
            self.vad.set_noise_floor(max(floor, -100.0))
            self._calib_energies = []
            events.append(StatusEvent("info", f"noise floor calibrated: {floor:.1f} dBFS", self.stream_time))

    def _on_vad(self, ev: VADEvent, events: list) -> None:
        if ev.kind == "start":
            self.utterance_id += 1
            self.utterances += 1
            self._utt = ev
            self.smoother.reset()
            self._next_partial = ev.sample + int(self.config.partial_interval_s * self.sr)
            events.append(SpeechEvent("start", ev.sample / self.sr, self.utterance_id))
            return
        if self._utt is None:
            return
        t0 = time.perf_counter()
        utt = self._utt
        self._utt = None
        events.append(SpeechEvent("end", ev.sample / self.sr, self.utterance_id))
        if self.model is None:
            return
        post = int(self.config.post_roll_ms * self.sr / 1000)
        a, b = utt.audio_start, min(ev.sample + post, ev.decided_at)
        a, b = self._widen(a, b, ev.decided_at)
        probs = self.model.predict_segment(self.history.slice(a, b), hop_seconds=self.config.segment_hop_s)
        event = self._emotion(utt.sample, ev.sample, probs, final=True, t0=t0)
        self.last_latency_ms = event.latency_ms
        self.finals += 1
        events.append(event)

    def _widen(self, a: int, b: int, limit: int) -> tuple[int, int]:
        min_len = int(self.config.min_segment_s * self.sr)
        if b - a >= min_len:
            return a, b
        lo = self.history.start
        a2 = max(lo, a - (min_len - (b - a)) // 2)
        b2 = min(limit, a2 + min_len)
        return max(lo, b2 - min_len), b2

    def _partial(self) -> EmotionEvent:
        utt = self._utt
        end = self.vad.position
        window = self.model.params.window_samples if self.model is not None else 3 * self.sr
        a = max(utt.audio_start, end - window)
        probs = self.model.predict_window(self.history.slice(a, end))
        self.partials += 1
        # stamped like the final result: the speech so far, not the quiet the hangover is waiting through
        speech_end = max(utt.sample, min(end, self.vad.speech_end))
        return self._emotion(utt.sample, speech_end, self.smoother(probs), final=False)

    def _emotion(self, start: int, end: int, probs, final: bool, t0: float | None = None) -> EmotionEvent:
        label, top, conf, table = label_probabilities(probs, self.model.labels, self.config.confidence_threshold)
        latency = (time.perf_counter() - t0) * 1000.0 if t0 is not None else None
        return EmotionEvent(
            utterance_id=self.utterance_id,
            start=round(start / self.sr, 4),
            end=round(end / self.sr, 4),
            label=label,
            top_label=top,
            confidence=round(conf, 6),
            probabilities=table,
            final=final,
            latency_ms=None if latency is None else round(latency, 3),
        )
