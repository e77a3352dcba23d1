"""The status bar's permanent indicators: recording sign, source, sample rate, model, latency, dropped audio."""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar

from realtime_ser.gui.engine import SourceInfo
from realtime_ser.gui.timeline_model import format_time
from realtime_ser.model.metadata import ModelMetadata

#: The widest the source's name may be in the status bar (beside rate, model, latency, dropped).
SOURCE_MAX_PX = 420


def shown_path(path) -> str:
    """``path`` for a status message: under the home folder as ``~/...``, so that the part that
    tells sessions apart (the folder's name, at the end) is not cut off by the indicators."""
    text = str(path)
    try:
        home = str(Path.home())
    except (RuntimeError, KeyError):  # no home folder known
        return text
    if home not in ("", os.sep) and text.startswith(home + os.sep):
        return "~" + text[len(home):]
    return text


def saved_in(folder) -> str:
    """What the status bar says of a session just saved (one wording wherever a recording ends)."""
    return f"Session saved in {shown_path(folder)}"


def _stat(stats, name: str, default=None):
    """One figure of the pipeline's stats: a PipelineStats, a dict, or None when nothing runs."""
    if stats is None:
        return default
    if isinstance(stats, dict):
        return stats.get(name, default)
    return getattr(stats, name, default)


class StatusIndicators:
    """The labels at the right of the status bar, and the texts they show (one place for those)."""

    def __init__(self, status_bar: QStatusBar, sample_rate: int, metadata: ModelMetadata, model_path: str):
        self.sample_rate = sample_rate
        #: The latency shown: the pipeline's stats repeat it, and the label is set only when it changes.
        self.last_latency_ms: float | None = None
        self.recording = QLabel()
        self.recording.setToolTip("Recording a session (audio, results and markers)")
        self.recording.setStyleSheet("color: #d62728; font-weight: bold")
        self.recording.hide()
        status_bar.addPermanentWidget(self.recording)
        self.source = QLabel("idle")
        self.source.setTextFormat(Qt.TextFormat.PlainText)  # a file may be named "<b>take 2</b>.wav"
        self.rate = QLabel(f"{sample_rate} Hz")
        self.model = QLabel(f"model {metadata.model_version} ({metadata.quantization})")
        self.model.setToolTip(model_path)
        self.latency = QLabel("latency –")
        self.latency.setToolTip("End of speech to final result")
        self.dropped = QLabel("dropped 0")
        self.dropped.setToolTip("Audio samples lost because the program could not keep up")
        for label in (self.source, self.rate, self.model, self.latency, self.dropped):
            label.setContentsMargins(6, 0, 6, 0)
            status_bar.addPermanentWidget(label)

    def show_source(self, info: SourceInfo | None) -> None:
        """What is listened to or replayed; None: nothing (idle). A long name is shortened in the
        middle (its start and extension stay) and given whole in the tooltip: cut at the status
        bar's edge, it lost its end without a sign."""
        text = "idle" if info is None else f"{info.kind}: {info.shown_name}"
        self.source.setText(self.source.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                                 SOURCE_MAX_PX))
        self.source.setToolTip(f"<p>{html.escape(text)}</p>" if self.source.text() != text else "")  # <p>: as text

    def show_latency(self, ms: float | None) -> None:
        """The newest final result's latency; None: none yet (a new source)."""
        self.last_latency_ms = ms
        self.latency.setText("latency –" if ms is None else f"latency {ms:.0f} ms")

    def show_stats(self, stats) -> None:
        """Dropped audio and latency from the pipeline's stats (None when no pipeline runs)."""
        dropped = _stat(stats, "dropped_samples", _stat(stats, "dropped", 0)) or 0
        seconds = dropped / self.sample_rate
        self.dropped.setText(f"dropped {seconds:.2f} s" if dropped else "dropped 0")
        latency = _stat(stats, "last_latency_ms", None)
        if latency is not None and (self.last_latency_ms is None or not math.isclose(latency, self.last_latency_ms)):
            self.show_latency(latency)

    def show_recording(self, duration: float | None) -> None:
        """The red "● REC m:ss" while a session is recorded: a lasting sign that what is heard is kept."""
        self.recording.setVisible(duration is not None)
        if duration is not None:
            self.recording.setText(f"● REC {format_time(duration)[:-2]}")
