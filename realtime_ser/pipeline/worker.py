"""The pipeline worker: a thread that pulls audio from a source and publishes events.

Consumers (CLI, GUI, session recorder) either drain :attr:`Pipeline.events`
(a thread-safe queue) or register listeners that are called on the worker
thread.  The worker never dies on a user-caused problem: device loss, overruns
and listener errors become StatusEvents.  :func:`analyze_file` runs a file
through the very same loop without a thread.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from realtime_ser.audio.file_source import FileSource
from realtime_ser.audio.sources import AudioSource
from realtime_ser.dsp.input_health import InputHealth, InputHealthConfig
from realtime_ser.errors import SerError
from realtime_ser.pipeline.events import INTERNAL_ERROR, PipelineEvent, StatusEvent
from realtime_ser.pipeline.processor import PipelineConfig, StreamProcessor

__all__ = ["Pipeline", "PipelineConfig", "PipelineStats", "analyze_file", "run_source"]

log = logging.getLogger(__name__)

EventListener = Callable[[PipelineEvent], None]
AudioListener = Callable[[np.ndarray, float], None]


@dataclass(frozen=True)
class PipelineStats:
    """A snapshot for status bars and summaries."""

    stream_time: float
    dropped_samples: int
    overruns: int
    last_latency_ms: float | None
    utterances: int
    partial_events: int
    final_events: int
    noise_floor_db: float
    level_db: float
    in_speech: bool
    #: A fault of the live input (``"silent"``, ``"clipping"``; see ``dsp.input_health``), or None.
    input_problem: str | None = None


def run_source(
    source: AudioSource,
    processor: StreamProcessor,
    emit: Callable[[PipelineEvent], None],
    stop: threading.Event | None = None,
    on_audio: Callable[[np.ndarray, float], None] | None = None,
    on_gap: Callable[[int], None] | None = None,
    on_seek: Callable[[float], None] | None = None,
) -> None:
    """The loop shared by the live worker and file analysis: read, feed, emit, until the end.

    ``on_seek(stream_time)``: the source jumped there (a replay sought), after the utterance the jump
    cut has ended; the audio that follows starts at that time.

    A fault of the source (a file cut short, a device gone) ends the utterance in progress first,
    so what was heard before it keeps its final result; then the fault is raised.
    """
    ended = False  # the source ran out (a file's end), as opposed to being stopped
    try:
        while stop is None or not stop.is_set():
            reset = source.take_reset()
            if reset is not None:
                for ev in processor.reset(reset):
                    emit(ev)
                if on_seek is not None:
                    on_seek(processor.stream_time)
            block = source.read(0.1)
            # The gap first: a device's "reconnected" is stamped when it came back, after the time away
            gap = source.take_gap()
            if gap:
                if on_gap is not None:
                    on_gap(gap)
                for ev in processor.discontinuity(gap):
                    emit(ev)
            for status in source.pop_status():
                emit(StatusEvent(status.level, status.message, processor.stream_time))
            if block is None:
                ended = True
                break
            if block.size == 0:
                continue
            if on_audio is not None:
                on_audio(block, processor.stream_time)
            for ev in processor.feed(block):
                emit(ev)
    except SerError:
        for ev in processor.flush():
            emit(ev)
        raise
    for ev in processor.flush():
        emit(ev)
    if ended and (stop is None or not stop.is_set()):  # a recording that never held speech: say why
        status = processor.no_speech_status()
        if status is not None:
            emit(status)


class Pipeline:
    """``Pipeline(source, model, config)``: ``start()``, ``stop()``, events, listeners, stats.

    ``first_utterance_id``: the utterances are numbered from the one after it (see StreamProcessor).
    """

    #: Oldest queued events are discarded beyond this, so an undrained queue cannot grow forever.
    MAX_QUEUED_EVENTS = 10_000

    def __init__(self, source: AudioSource, model, config: PipelineConfig | None = None,
                 first_utterance_id: int = 0):
        self.source = source
        self.model = model
        self.config = config or PipelineConfig()
        self.processor = StreamProcessor(model, self.config, source.sample_rate, first_utterance_id)
        self.events: queue.Queue[PipelineEvent] = queue.Queue(maxsize=self.MAX_QUEUED_EVENTS)
        self._event_listeners: list[EventListener] = []
        self._audio_listeners: list[AudioListener] = []
        self._seek_listeners: list[Callable[[float], None]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._overruns = 0
        self._last_overrun_report = -1e9
        self._dropped_model_samples = 0
        self.error: str | None = None
        # Live inputs only: a recording may hold digital silence, and its level is not the user's to fix.
        # What a computer plays (system audio) is silent whenever nothing plays: only clipping is a fault there.
        self._health = None if isinstance(source, FileSource) else InputHealth(
            source.sample_rate,
            InputHealthConfig(silent_seconds=math.inf) if source.captures_playback else None,
        )

    # -- listeners ------------------------------------------------------------------------
    def add_event_listener(self, fn: EventListener) -> None:
        """``fn(event)`` is called on the worker thread for every event; keep it quick."""
        self._event_listeners.append(fn)

    def add_audio_listener(self, fn: AudioListener) -> None:
        """``fn(block, stream_time)`` gets every 16 kHz block as it is consumed."""
        self._audio_listeners.append(fn)

    def add_seek_listener(self, fn: Callable[[float], None]) -> None:
        """``fn(stream_time)`` is called on the worker thread when a replay jumps (a seek), between the
        audio before and after it: the stream's clock moved without audio being lost."""
        self._seek_listeners.append(fn)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Open the source (raises SerError, e.g. DeviceError) and start the worker thread."""
        if self.running:
            return
        self._stop.clear()
        self.source.start()
        self._thread = threading.Thread(target=self._run, name="realtime-ser-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (the open utterance gets its final event) and close the source."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.source.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source ends (file) or the pipeline is stopped; True if it ended."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def input_fault(self) -> str | None:
        """What a recording of this input should say went wrong with it, asked when it stops: the
        error that ended the pipeline, or a device still gone (waiting to reconnect) at that moment."""
        if self.error and not self.running:
            return self.error
        if getattr(self.source, "lost", False):
            return f"audio device {self.source.name!r} was gone at the end (unplugged?)"
        return None

    # -- controls (thread-safe: plain attribute writes read by the worker) ----------------
    def set_vad_threshold_db(self, db: float) -> None:
        self.processor.set_threshold_db(db)

    def calibrate_noise(self, seconds: float = 2.0) -> None:
        """Treat the next ``seconds`` of input as room noise; a StatusEvent reports the result."""
        self.processor.calibrate_noise(seconds)

    @property
    def stats(self) -> PipelineStats:
        p = self.processor
        return PipelineStats(
            stream_time=p.stream_time,
            dropped_samples=self.source.dropped,
            overruns=max(self._overruns, self.source.overruns),
            last_latency_ms=p.last_latency_ms,
            utterances=p.utterances,
            partial_events=p.partials,
            final_events=p.finals,
            noise_floor_db=p.vad.noise_floor_db,
            level_db=p.vad.last_energy_db,
            in_speech=p.in_speech,
            input_problem=self._health.problem if self._health is not None else None,
        )

    # -- worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            run_source(self.source, self.processor, self._emit, self._stop, self._on_audio, self._on_gap,
                       self._on_seek)
        except SerError as exc:
            self.error = str(exc)
            self._emit(StatusEvent("error", str(exc), self.processor.stream_time))
        except Exception as exc:  # a bug: keep the traceback in the log, tell the user briefly
            log.exception("pipeline worker failed")
            self.error = f"{INTERNAL_ERROR}{type(exc).__name__}: {exc}"
            self._emit(StatusEvent("error", self.error, self.processor.stream_time))

    def _on_audio(self, block: np.ndarray, stream_time: float) -> None:
        if self._health is not None:
            for level, message in self._health.feed(block):
                self._emit(StatusEvent(level, message, stream_time))
        for fn in self._audio_listeners:
            try:
                fn(block, stream_time)
            except Exception:
                log.exception("audio listener failed")

    def _on_seek(self, stream_time: float) -> None:
        for fn in self._seek_listeners:
            try:
                fn(stream_time)
            except Exception:
                log.exception("seek listener failed")

    def _on_gap(self, samples: int) -> None:
        samples -= self.source.away_in_last_gap  # a device away is not an overrun: its reconnect says so
        if samples <= 0:
            return
        self._overruns += 1
        self._dropped_model_samples += samples
        now = time.monotonic()
        if now - self._last_overrun_report >= 1.0:  # at most one message a second
            self._last_overrun_report = now
            self._emit(
                StatusEvent(
                    "warning",
                    f"audio overrun: {samples / self.source.sample_rate * 1000:.0f} ms of audio dropped "
                    f"(total {self._overruns} overruns); recovering",
                    self.processor.stream_time,
                )
            )

    def _emit(self, event: PipelineEvent) -> None:
        while True:
            try:
                self.events.put_nowait(event)
                break
            except queue.Full:
                try:
                    self.events.get_nowait()
                except queue.Empty:
                    pass
        for fn in self._event_listeners:
            try:
                fn(event)
            except Exception:
                log.exception("event listener failed")


def analyze_file(
    path: str | os.PathLike,
    model,
    config: PipelineConfig | None = None,
    include_partials: bool = False,
    on_progress: Callable[[float], None] | None = None,
    channel: int | None = None,
) -> list[PipelineEvent]:
    """Run a whole file through the live path (unpaced); return its events in order.

    ``on_progress(seconds)`` is called with the seconds of audio processed per block.
    ``channel`` (1-based) analyses that channel alone instead of the mix of all.
    """
    return analyze_source(FileSource(path, realtime=False, channel=channel), model, config, include_partials,
                          on_progress)


def analyze_source(
    source: AudioSource,
    model,
    config: PipelineConfig | None = None,
    include_partials: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> list[PipelineEvent]:
    """Run an unpaced source (a file, an array) through the live path; return its events in order."""
    config = config or PipelineConfig()
    if not include_partials and config.emit_partials:  # partials never change a final result
        config = dataclasses.replace(config, emit_partials=False)
    processor = StreamProcessor(model, config, source.sample_rate)
    events: list[PipelineEvent] = []

    def emit(ev: PipelineEvent) -> None:
        if include_partials or getattr(ev, "final", True):
            events.append(ev)

    def progress(block: np.ndarray, _t: float) -> None:
        on_progress(block.size / source.sample_rate)

    source.start()
    try:
        run_source(source, processor, emit, on_audio=progress if on_progress else None)
    except SerError as exc:  # a file cut short: what came before stands (run_source closed its last utterance)
        exc.found_before = events
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C: what came before stands, and the utterance it cut ends there,
        exc.found_before = events  # as at a file's end (a listening session stopped keeps its last one too)
        try:
            for ev in processor.flush():
                emit(ev)
        except (Exception, KeyboardInterrupt):  # torn mid-update by the interrupt, or a second Ctrl-C: that
            pass  # one utterance is lost, nothing before it
        raise
    finally:
        source.stop()
    return events
