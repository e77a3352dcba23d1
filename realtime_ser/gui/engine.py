"""Qt-free bridge between the streaming pipeline and the GUI.

The pipeline runs on its own thread.  Everything it produces reaches the GUI
through two queues that the GUI timer drains: ``pipeline.events`` (the
pipeline's own event queue) and :attr:`Engine.audio` (filled by an audio
listener that only copies and enqueues).  Nothing here ever blocks the GUI
thread on audio or on the model; the listeners never touch Qt.
"""

from __future__ import annotations

import copy
import queue
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime_ser.model.emotion_model import EmotionModel
from realtime_ser.pipeline.events import PipelineEvent

#: VAD threshold (dB above the noise floor) for sensitivity slider positions 0..100.
THRESHOLD_AT_ZERO_DB = 22.0
THRESHOLD_AT_FULL_DB = 2.0


def sensitivity_to_threshold_db(sensitivity: int) -> float:
    """High sensitivity = low threshold; 50 is the VAD's default (12 dB)."""
    s = max(0, min(100, int(sensitivity))) / 100.0
    return THRESHOLD_AT_ZERO_DB + s * (THRESHOLD_AT_FULL_DB - THRESHOLD_AT_ZERO_DB)


def session_display_name(title: str | None, folder: Path) -> str:
    """How a replayed session is named (replay bar, window title, status bar): its title and folder
    ("P07 baseline (2026-11-22T10-15-03_session)"), or its folder alone."""
    return f"{title} ({folder.name})" if title else folder.name


@dataclass
class SourceInfo:
    kind: str  # "microphone" | "file" | "session"
    name: str  # device name or file name, for the status bar
    path: Path | None = None
    duration: float | None = None  # seconds, files only
    audio_path: Path | None = None  # the audio file replayed (inside ``path`` for a session folder)
    channel: int | None = None  # the one channel replayed or listened to (1-based); None: all mixed / the default

    @property
    def shown_name(self) -> str:
        """The name, and the channel when one alone is taken: what the status bar, messages and a
        recorded session's device say."""
        return f"{self.name} (channel {self.channel})" if self.channel else self.name

    @property
    def session_folder(self) -> Path | None:
        """The session folder replayed (``path`` may name its manifest or events file); None otherwise."""
        if self.kind != "session" or self.path is None:
            return None
        return self.path if self.path.is_dir() else self.path.parent


class Engine:
    """Owns the running Pipeline (at most one), the optional recorder and audible replay."""

    def __init__(self, model: EmotionModel, threshold_db: float = 12.0, pipeline_config=None):
        from realtime_ser.pipeline.worker import PipelineConfig

        self.model = model
        self.threshold_db = threshold_db
        #: The user's settings (config.json) for every pipeline; the VAD threshold is the slider's.
        self.pipeline_config = pipeline_config if pipeline_config is not None else PipelineConfig()
        self.pipeline = None
        self.source = None
        self.info: SourceInfo | None = None
        self.audio: queue.SimpleQueue = queue.SimpleQueue()
        self.recorder = None
        self.player = None

    @property
    def sample_rate(self) -> int:
        return self.model.params.sample_rate

    @property
    def running(self) -> bool:
        return self.pipeline is not None and bool(self.pipeline.running)

    # --- starting and stopping ---------------------------------------------------

    def start(self, source, info: SourceInfo, first_utterance_id: int = 0) -> None:
        """Run ``source`` through a new Pipeline (stopping any previous one); its utterances are
        numbered from ``first_utterance_id + 1`` (a replay played again continues the numbering)."""
        from realtime_ser.pipeline.worker import Pipeline

        self.stop()
        self._drain_queue(self.audio)
        pipeline = Pipeline(source, self.model, copy.deepcopy(self.pipeline_config), first_utterance_id)
        pipeline.add_audio_listener(self._on_audio)
        pipeline.add_event_listener(self._on_event)
        pipeline.add_seek_listener(self._on_seek)
        pipeline.set_vad_threshold_db(self.threshold_db)
        pipeline.start()
        self.pipeline, self.source, self.info = pipeline, source, info

    def stop(self) -> None:
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.stop()
        self.stop_player()

    def close(self) -> None:
        """Stop everything and let go of the pipeline and its source (the device stream, the resampler)."""
        self.stop()
        self.stop_recording()
        self.pipeline = self.source = None

    # --- listeners: called on the pipeline thread, never touch Qt ---------------

    def _on_audio(self, block: np.ndarray, stream_time: float) -> None:
        self.audio.put((np.array(block, dtype=np.float32, copy=True), stream_time))
        recorder = self.recorder
        if recorder is not None:
            recorder.write_audio(block, stream_time)
        player = self.player
        if player is not None:
            player.write(block)

    def _on_seek(self, stream_time: float) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.write_seek()

    def _on_event(self, event: PipelineEvent) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.write_event(event)

    # --- draining (GUI thread) ------------------------------------------------------

    @staticmethod
    def _drain_queue(q) -> list:
        items = []
        while True:
            try:
                items.append(q.get_nowait())
            except queue.Empty:
                return items

    def drain_audio(self) -> list[tuple[np.ndarray, float]]:
        return self._drain_queue(self.audio)

    def drain_events(self) -> list[PipelineEvent]:
        return [] if self.pipeline is None else self._drain_queue(self.pipeline.events)

    # --- controls -------------------------------------------------------------------

    def set_threshold_db(self, db: float) -> None:
        self.threshold_db = db
        if self.pipeline is not None:
            self.pipeline.set_vad_threshold_db(db)

    def calibrate_noise(self, seconds: float = 1.0) -> None:
        if self.pipeline is not None:
            self.pipeline.calibrate_noise(seconds)

    def pause(self) -> None:
        if self.source is not None and hasattr(self.source, "pause"):
            self.source.pause()

    def resume(self) -> None:
        if self.source is not None and hasattr(self.source, "resume"):
            self.source.resume()

    def seek(self, seconds: float) -> None:
        if self.source is not None and hasattr(self.source, "seek"):
            self.source.seek(seconds)

    def add_marker(self, marker) -> None:
        """A moment the user marked: into the recording (if any), on the stream clock like the results."""
        recorder = self.recorder
        if recorder is not None:
            recorder.write_event(marker)

    # --- recording --------------------------------------------------------------------

    def start_recording(self, parent_dir: Path, settings: dict) -> Path:
        from realtime_ser.session.recorder import SessionRecorder

        self.stop_recording()
        device = self.info.shown_name if self.info is not None else None
        recorder = SessionRecorder(parent_dir, self.sample_rate, device, self.model.metadata, settings)
        folder = recorder.start()
        self.recorder = recorder
        return folder

    def stop_recording(self) -> Path | None:
        """End the recording (``stopped``, with the fault, if the input ended on one); its folder, or
        None where nothing reached it (Record pressed and released at once, or while paused): an
        empty session is removed rather than listed as a complete one of 0:00."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        pipeline = self.pipeline
        recorder.stop(input_error=pipeline.input_fault if pipeline is not None else None)
        if not recorder.title and recorder.discard():  # a name the user gave it is worth keeping
            return None
        return recorder.folder

    # --- audible replay ----------------------------------------------------------------

    def start_player(self) -> None:
        from realtime_ser.gui.playback import Player

        self.stop_player()
        player = Player(self.sample_rate)
        player.start()
        self.player = player

    def stop_player(self) -> None:
        player, self.player = self.player, None
        if player is not None:
            player.stop()
