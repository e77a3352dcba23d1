"""Scrolling waveform of the last ~10 s, with detected utterances shaded and markers as lines."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from realtime_ser.gui.display_buffers import WaveformEnvelope
from realtime_ser.gui.palette import marker_pen
from realtime_ser.gui.timeline_model import Utterance
from realtime_ser.pipeline.events import MarkerEvent

#: All stacked plots share this left axis width so their time axes line up.
LEFT_AXIS_WIDTH = 52
#: Opacity of an utterance's emotion tint on a light / a dark background: enough that sad's blue
#: stays apart from neutral's sky blue (at 0.27 both read as pale blue), little enough that the
#: trace stays readable over any of them (3:1 or more; a dark background takes less).
SHADE_ALPHA = {"light": 0.45, "dark": 0.38}


class FittedLabelsAxis(pg.AxisItem):
    """A vertical axis that labels only the ticks whose label fits within its own height and clear
    of the labels kept before it (in the order the ticks are given): a tick at the very top or
    bottom of the range ("1.0", "-1.0") otherwise had its label cut in half by the plot's edge,
    and a short plot printed labels over each other."""

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        bounds = self.mapRectFromParent(self.geometry())
        kept = []
        for spec in texts:
            rect = spec[0]
            inside = rect.top() >= bounds.top() - 0.5 and rect.bottom() <= bounds.bottom() + 0.5
            if inside and not any(rect.intersects(other[0]) for other in kept):
                kept.append(spec)
        return axis, ticks, kept


class WaveformView(pg.PlotWidget):
    """Min/max envelope curve plus one shaded rectangle per visible utterance."""

    def __init__(self, envelope: WaveformEnvelope, colors: dict[str, str], emotion_colors: dict[str, QColor],
                 parent=None):
        super().__init__(parent=parent, background=colors["background"],
                         axisItems={"left": FittedLabelsAxis("left")})
        self.envelope = envelope
        self.emotion_colors = emotion_colors
        self._speech_color = QColor(colors["speech"])
        self._shade_alpha = SHADE_ALPHA["dark" if QColor(colors["background"]).lightnessF() < 0.5 else "light"]
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.setLabel("left", "level")
        item.getAxis("left").enableAutoSIPrefix(False)
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        # No grid and a fixed, relative time axis (seconds before now): the axes never
        # change while the view scrolls, so software rendering only redraws the data.
        item.hideAxis("bottom")
        self.setXRange(-envelope.seconds, 0.0, padding=0)
        self.setYRange(-1.0, 1.0, padding=0)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(colors["trace"], width=1), antialias=False, skipFiniteCheck=True)
        self.curve.setZValue(10)
        self.addItem(self.curve)
        self._shades: dict[int, QGraphicsRectItem] = {}
        self._marker_lines: dict[int, pg.InfiniteLine] = {}
        self._marker_pen = marker_pen(colors["foreground"])
        self._gain = 1.0
        self._shown_gain = 1.0

    def reset_gain(self) -> None:
        """Start a new source's scale from its own first audio (a quiet file after a loud one must not
        look flat while the gain slowly decays)."""
        self._gain = 0.0  # the first refresh takes its target at once
        self._shown_gain = 1.0
        self.setYRange(-1.0, 1.0, padding=0)

    def set_trace_color(self, color: str) -> None:
        self.curve.setPen(pg.mkPen(color, width=1))

    def set_marker_color(self, color: str) -> None:
        self._marker_pen = marker_pen(color)
        for line in self._marker_lines.values():
            line.setPen(self._marker_pen)

    def refresh(self, now: float, utterances: list[Utterance], markers: list[MarkerEvent] = ()) -> None:
        x, y = self.envelope.update_display()
        np.subtract(x, now, out=x)  # relative time, in place
        self.curve.setData(x, y)
        # Gentle automatic gain so quiet microphones stay visible without jumping around;
        # the range is only touched when it changes visibly (a range change redraws the axis).
        peak = float(max(np.max(y), -np.min(y)))
        target = min(1.0, max(0.05, peak * 1.15))
        gain = target if target > self._gain else 0.97 * self._gain + 0.03 * target
        if abs(gain - self._shown_gain) > 0.05 * self._shown_gain:
            self._shown_gain = gain
            self.setYRange(-gain, gain, padding=0)
        self._gain = gain
        self._update_shades(now, utterances)
        self._update_markers(now, markers)

    def _update_markers(self, now: float, markers: list[MarkerEvent]) -> None:
        """A dashed line where the user marked a moment, so Ctrl+M shows at once where it landed."""
        keep = set()
        for marker in markers:
            if not now - self.envelope.seconds <= marker.time <= now:
                continue
            keep.add(marker.marker_id)
            line = self._marker_lines.get(marker.marker_id)
            if line is None:
                line = pg.InfiniteLine(angle=90, pen=self._marker_pen, movable=False)
                line.setZValue(11)
                self.addItem(line)
                self._marker_lines[marker.marker_id] = line
            line.setValue(marker.time - now)
        for mid in [m for m in self._marker_lines if m not in keep]:
            self.removeItem(self._marker_lines.pop(mid))

    def marker_count(self) -> int:
        return len(self._marker_lines)

    def _update_shades(self, now: float, utterances: list[Utterance]) -> None:
        left = now - self.envelope.seconds
        keep = set()
        for utt in utterances:
            end = utt.end_or(now)
            if end < left:
                continue
            keep.add(utt.utterance_id)
            rect = self._shades.get(utt.utterance_id)
            if rect is None:
                rect = QGraphicsRectItem()
                rect.setPen(QPen(QColor(0, 0, 0, 0)))
                rect.setZValue(-5)
                self.addItem(rect)
                self._shades[utt.utterance_id] = rect
            color = QColor(self._speech_color)
            if utt.emotion is not None:
                color = QColor(self.emotion_colors.get(utt.emotion.label, self._speech_color))
            color.setAlphaF(self._shade_alpha)
            rect.setBrush(QBrush(color))
            rect.setRect(QRectF(utt.start - now, -10.0, end - utt.start, 20.0))
        for uid in [u for u in self._shades if u not in keep]:
            self.removeItem(self._shades.pop(uid))
