"""Rolling emotion timeline: one band per utterance, zoomable back over the whole session.

Band colour = emotion, band height = confidence (a final band is filled opaque, in its legend
swatch's own colour: a see-through one turned sad's blue into neutral's).  Partial results
(someone is still speaking) are striped in the full emotion colour with a dashed
outline and change as new estimates arrive (a faint fill of one emotion's colour
looked like another's); uncertain results are grey and hatched; an utterance
with no estimate yet is an empty outline (:func:`band_look`).  Hovering shows
time, label and every class probability.  Markers the user set are vertical dashed lines
labelled with their number and note (markers too close for that: their number, a row
lower).  The view follows the newest ~60 s until the user zooms or drags; "Follow live"
(End) returns to following.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QCursor, QFont, QFontMetrics, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from realtime_ser.gui.palette import UNCERTAIN_COLOR, marker_pen
from realtime_ser.gui.timeline_model import TimelineModel, Utterance, describe, describe_marker
from realtime_ser.gui.waveform_view import LEFT_AXIS_WIDTH
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent, MarkerEvent

MIN_HEIGHT = 0.08
STRIPE_PX = (4, 2)  # a partial band's stripes: pixels of full colour, then of a tint of it, at any zoom
STRIPE_TINT = 0.35  # the tint's opacity
PARTIAL_CAPTION = "partial"  # the legend's name for the partial look
# Stacking: a marker's line over the bands but under their captions (a line through "sad?" made it "sa|d?").
BAND_Z, MARKER_Z, CAPTION_Z = 5, 5.5, 6


class BandLook(NamedTuple):
    """How an utterance's band is drawn, in its label's colour."""

    brush: Qt.BrushStyle  # Solid: final; Texture: partial (stripes); BDiag: uncertain; NoBrush: no estimate
    alpha: float  # opacity of a solid fill (1: a final band is its legend swatch's colour exactly)
    pen: Qt.PenStyle  # dashed while someone is still speaking


def band_look(event: EmotionEvent | None) -> BandLook:
    """Final results solid and opaque, so they match the legend (their height says how sure: a fill
    fading with confidence passed a 45 % sad for neutral and fearful for a pale pink); partial ones
    striped in the full colour; uncertain ones hatched; none yet, an outline."""
    if event is None:
        return BandLook(Qt.BrushStyle.NoBrush, 1.0, Qt.PenStyle.DashLine)
    pen = Qt.PenStyle.SolidLine if event.final else Qt.PenStyle.DashLine
    if event.uncertain:
        return BandLook(Qt.BrushStyle.BDiagPattern, 1.0, pen)
    if not event.final:
        return BandLook(Qt.BrushStyle.TexturePattern, 1.0, pen)
    return BandLook(Qt.BrushStyle.SolidPattern, 1.0, pen)


def band_brush(style: Qt.BrushStyle, color: QColor, alpha: float = 1.0) -> QBrush:
    """The brush of a :class:`BandLook` (TexturePattern: vertical stripes of ``color`` and a tint of it)."""
    if style == Qt.BrushStyle.TexturePattern:
        on, off = STRIPE_PX
        stripes = QImage(on + off, 1, QImage.Format.Format_ARGB32)
        tint = QColor(color)
        tint.setAlphaF(STRIPE_TINT)
        for x in range(on + off):
            stripes.setPixelColor(x, 0, color if x < on else tint)
        return QBrush(stripes)
    if style == Qt.BrushStyle.SolidPattern:
        fill = QColor(color)
        fill.setAlphaF(alpha)
        return QBrush(fill)
    return QBrush(color, style)


class _Band(QGraphicsRectItem):
    """An utterance's band; a texture (a partial's stripes) keeps its size in pixels at any zoom."""

    def paint(self, painter, option, widget=None) -> None:
        brush = self.brush()
        scale = painter.worldTransform()
        if brush.style() != Qt.BrushStyle.TexturePattern or not scale.m11() or not scale.m22():
            super().paint(painter, option, widget)
            return
        brush.setTransform(QTransform.fromScale(1.0 / scale.m11(), 1.0 / scale.m22()))
        painter.setPen(self.pen())
        painter.setBrush(brush)
        painter.drawRect(self.rect())


class _TimelinePlot(pg.PlotWidget):
    hovered = Signal(float, QPointF)  # stream time under the mouse, global position
    double_clicked = Signal(float)  # stream time double-clicked with the left button
    right_clicked = Signal(float, QPoint)  # stream time right-clicked, global position

    def __init__(self, colors: dict[str, str]):
        super().__init__(background=colors["background"])
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=True, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.setLabel("bottom", "session time (s)")
        item.setLabel("left", "confidence")
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        item.getAxis("left").setTicks([[(0, "0"), (0.5, ".5"), (1.0, "1")]])
        item.showGrid(x=True, y=True, alpha=0.2)
        self.setYRange(0.0, 1.05, padding=0)
        self.getViewBox().setLimits(xMin=-1.0, yMin=0.0, yMax=1.05, minXRange=2.0)
        self.setMouseTracking(True)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        self.hovered.emit(vb.mapSceneToView(scene_pos).x(), QPointF(QCursor.pos()))

    def _on_mouse_clicked(self, event) -> None:
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        t = vb.mapSceneToView(event.scenePos()).x()
        if event.double() and event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit(t)
        elif event.button() == Qt.MouseButton.RightButton:
            self.right_clicked.emit(t, event.screenPos().toPoint())


def marker_caption(marker: MarkerEvent, room_px: float, text_width: Callable[[str], int]) -> str:
    """A marker's caption: its number and as much of its note as fits before the next marker
    (``room_px`` away), so close markers do not print over each other; at least the number, however
    close the next (the view sets such a caption a row lower, so each line can be told apart;
    zooming in gives room for the note, the tooltip has it all)."""
    number = str(marker.marker_id)
    caption = f"{number} {marker.note}" if marker.note else number
    if len(caption) > 24:
        caption = caption[:23] + "…"
    while len(caption) > len(number) and text_width(caption) + 8 > room_px:
        caption = caption[:-2].rstrip() + "…" if len(caption) > len(number) + 3 else number
    return caption


def caption_rows(starts_px: list[float], widths_px: list[float], rows: int) -> list[int]:
    """The row (0: the top) of each caption, in time order, starting at ``starts_px`` and
    ``widths_px`` wide: the first row where it clears the captions before it (a caption cut to the
    room before the next marker stays in the top row); with no row clear, the one clear soonest."""
    ends = [-math.inf] * max(1, rows)
    chosen = []
    for start, width in zip(starts_px, widths_px):
        row = next((r for r, end in enumerate(ends) if end <= start), min(range(len(ends)), key=ends.__getitem__))
        ends[row] = start + width
        chosen.append(row)
    return chosen


class TimelineView(QWidget):
    follow_changed = Signal(bool)
    utterance_activated = Signal(int)  # an utterance's band was double-clicked (its utterance_id)
    marker_activated = Signal(int)  # a marker's line was double-clicked (its marker_id)
    marker_menu_requested = Signal(int, QPoint)  # a marker's line was right-clicked (marker_id, where)

    def __init__(self, model: TimelineModel, labels: list[str], emotion_colors: dict[str, QColor],
                 colors: dict[str, str], window_seconds: float = 60.0, parent=None):
        super().__init__(parent)
        self.model = model
        self.labels = labels
        self.emotion_colors = emotion_colors
        self.window_seconds = window_seconds
        self.following = True
        self.now = 0.0
        self.hint = ""  # a last tooltip line saying what double-clicking does now ("" = nothing)
        self.marker_hint = ""  # the same for a marker
        self._bands: dict[int, QGraphicsRectItem] = {}
        self._texts: dict[int, pg.TextItem] = {}
        self._marker_lines: dict[int, pg.InfiniteLine] = {}
        self._markers_drawn = (-1, 0.0, 0.0, 0.0, 0.0)  # (model version, left, right, px per s, height) drawn for
        self._in_refresh = False
        self._text_color = colors["foreground"]
        self._caption_font = QFont(self.font())
        self._caption_font.setPointSizeF(max(7.0, self._caption_font.pointSizeF() * 0.85))

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        title = QLabel("<b>Emotion timeline</b>")
        header.addWidget(title)
        header.addSpacing(8)
        self.legend = QWidget()
        legend_layout = QHBoxLayout(self.legend)
        legend_layout.setContentsMargins(0, 0, 0, 0)
        legend_layout.setSpacing(8)
        for lab in labels:
            legend_layout.addWidget(_legend_chip(lab, emotion_colors[lab], Qt.BrushStyle.SolidPattern))
        # The kinds of result other than final, one over the other (the header has no room for both).
        kinds = QVBoxLayout()
        kinds.setSpacing(0)
        kinds.addWidget(_legend_chip(UNCERTAIN, emotion_colors[UNCERTAIN], Qt.BrushStyle.BDiagPattern))
        partial = _legend_chip(PARTIAL_CAPTION, None, Qt.BrushStyle.TexturePattern)
        partial.setToolTip("A partial result: someone is still speaking, and it changes as new estimates "
                           "arrive (striped in its emotion's colour, dashed outline)")
        kinds.addWidget(partial)
        legend_layout.addLayout(kinds)
        header.addWidget(self.legend)
        header.addStretch(1)
        self.follow_button = QPushButton("Follow live")
        self.follow_button.setToolTip("Scroll with the newest results again (End)")
        self.follow_button.setEnabled(False)
        self.follow_button.clicked.connect(lambda: self.set_following(True))
        header.addWidget(self.follow_button)

        self.plot = _TimelinePlot(colors)
        self.plot.getViewBox().sigRangeChangedManually.connect(lambda *_: self.set_following(False))
        self.plot.hovered.connect(self._show_tooltip)
        self.plot.double_clicked.connect(self._on_double_click)
        self.plot.right_clicked.connect(self._on_right_click)
        self.plot.getViewBox().sigXRangeChanged.connect(self._on_range_changed)
        self.now_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(colors["foreground"], width=1,
                                                               style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.now_line)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)
        self.set_following(True)
        self._scroll_to_now()  # (already following, so the call above changed nothing): 0-60 s from the start

    def set_following(self, follow: bool) -> None:
        if follow == self.following and self.follow_button.isEnabled() != follow:
            return
        self.following = follow
        self.follow_button.setEnabled(not follow)
        if follow:
            self._scroll_to_now()
        self.follow_changed.emit(follow)

    def _scroll_to_now(self) -> None:
        right = max(self.window_seconds, self.now + 1.0)
        self.plot.setXRange(right - self.window_seconds, right, padding=0)

    def reset(self) -> None:
        for band in self._bands.values():
            self.plot.removeItem(band)
        for text in self._texts.values():
            self.plot.removeItem(text)
        for line in self._marker_lines.values():
            self.plot.removeItem(line)
        self._bands.clear()
        self._texts.clear()
        self._marker_lines.clear()
        self._markers_drawn = (-1, 0.0, 0.0, 0.0, 0.0)
        self.now = 0.0
        self.set_following(True)

    def refresh(self, now: float) -> None:
        self.now = now
        self.now_line.setValue(now)
        self._in_refresh = True
        try:
            if self.following:
                self._scroll_to_now()
        finally:
            self._in_refresh = False
        self._sync(now)

    @property
    def text_color(self) -> str:
        return self._text_color

    def render_whole_session(self, width: int) -> QImage:
        """The plot from 0 to the session's end as an image ``width`` pixels wide; the view is
        put back as it was (following live or not)."""
        from pyqtgraph.exporters import ImageExporter

        vb = self.plot.getViewBox()
        (left, right), _ = vb.viewRange()
        ends = [u.end if u.end is not None else u.start for u in self.model.utterances]
        following, self.following = self.following, False  # refresh() must not scroll meanwhile
        try:
            vb.setXRange(0.0, max([self.now, *ends, 1.0]), padding=0.02)  # draws the bands (range signal)
            exporter = ImageExporter(self.plot.getPlotItem())
            exporter.parameters()["width"] = width
            return exporter.export(toBytes=True)
        finally:
            self.following = following
            if following:
                self.refresh(self.now)
            else:
                vb.setXRange(left, right, padding=0)

    def _on_range_changed(self, *_args) -> None:
        if not self._in_refresh:  # the user zoomed or dragged
            self._sync(self.now)

    def _sync(self, now: float) -> None:
        """Keep scene items only for utterances in (or near) the visible range, up to date.

        The scene never holds more than what is on screen, so moving the view stays
        cheap however long the session: a scene with thousands of items re-indexes
        all of them whenever the view scrolls.
        """
        dirty = self.model.take_dirty()
        vb = self.plot.getViewBox()
        (left, right), _ = vb.viewRange()
        margin = 0.1 * (right - left)
        visible = self.model.between(left - margin, right + margin)
        ids = {utt.utterance_id for utt in visible}
        for uid in [uid for uid in self._bands if uid not in ids]:
            self._remove(uid)
        px_per_s = vb.width() / max(1e-6, right - left)
        for utt in visible:
            uid = utt.utterance_id
            if uid not in self._bands or uid in dirty or utt.end is None:
                self._draw(utt, now)
            text = self._texts.get(uid)
            if text is not None:  # a caption only where the band is wide enough to carry it
                fits = self._bands[uid].rect().width() * px_per_s + 12 >= 6.0 * len(text.textItem.toPlainText())
                if text.isVisible() != fits:
                    text.setVisible(fits)
        self._sync_markers(left - margin, right + margin)

    def _sync_markers(self, left: float, right: float) -> None:
        """Marker lines for the markers in (or near) the visible range, as for the bands."""
        drawn_version, drawn_left, drawn_right, drawn_scale, drawn_height = self._markers_drawn
        vb = self.plot.getViewBox()
        px_per_s = vb.width() / max(1e-6, right - left)
        height = vb.height()
        if (drawn_version == self.model.markers_version and drawn_left <= left and right <= drawn_right
                and abs(px_per_s - drawn_scale) <= 0.01 * drawn_scale and height == drawn_height):
            return  # nothing changed, the range drawn still covers the view and the zoom is the same
        span = right - left
        left, right = left - span, right + span  # draw a little ahead, so scrolling rarely redraws
        markers = self.model.markers_between(left, right)
        visible = {m.marker_id: m for m in markers}
        for mid in [mid for mid in self._marker_lines if mid not in visible]:
            self.plot.removeItem(self._marker_lines.pop(mid))
        metrics = QFontMetrics(self.font())
        captions = []
        for i, marker in enumerate(markers):
            room = (markers[i + 1].time - marker.time) * px_per_s if i + 1 < len(markers) else math.inf
            captions.append(marker_caption(marker, room, metrics.horizontalAdvance))
        # Captions too close to the next marker for even their number go a row lower (rows down to
        # about half the plot), so no two print over each other.
        row_px = metrics.height() + 9  # a label is its text and a margin of 4 px around it
        rows = caption_rows([m.time * px_per_s for m in markers],
                            [metrics.horizontalAdvance(c) + 8 for c in captions], max(1, int(0.5 * height / row_px)))
        for marker, caption, row in zip(markers, captions, rows):
            position = 0.97 - row * row_px / max(1.0, height)
            line = self._marker_lines.get(marker.marker_id)
            if line is not None and (line.marker != marker or line.caption != caption or line.position != position):
                self.plot.removeItem(self._marker_lines.pop(marker.marker_id))  # edited, zoomed or moved down
                line = None
            if line is None:
                line = self._marker_line(marker, caption, position)
                self.plot.addItem(line)
                self._marker_lines[marker.marker_id] = line
        self._markers_drawn = (self.model.markers_version, left, right, px_per_s, height)

    def _marker_line(self, marker: MarkerEvent, caption: str, position: float = 0.97) -> pg.InfiniteLine:
        label = caption.replace("{", "{{").replace("}", "}}")  # the label is a str.format template
        line = pg.InfiniteLine(marker.time, angle=90, pen=marker_pen(self._text_color), movable=False, label=label,
                               labelOpts={"position": position, "color": self._text_color,
                                          "anchors": [(0, 0), (0, 0)]})
        line.setZValue(MARKER_Z)
        line.marker = marker  # what it shows
        line.caption = caption
        line.position = position
        return line

    def marker_count(self) -> int:
        """Marker lines in the scene: the markers in or near the visible range."""
        return len(self._marker_lines)

    def marker_line(self, marker_id: int) -> pg.InfiniteLine | None:
        return self._marker_lines.get(marker_id)

    def _remove(self, uid: int) -> None:
        band = self._bands.pop(uid, None)
        if band is not None:
            self.plot.removeItem(band)
        text = self._texts.pop(uid, None)
        if text is not None:
            self.plot.removeItem(text)

    def set_text_color(self, color: str) -> None:
        self._text_color = color
        for text in self._texts.values():
            text.setColor(color)
        for line in self._marker_lines.values():
            line.setPen(marker_pen(color))
            line.label.setColor(color)
        self.now_line.setPen(pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine))

    def band_count(self) -> int:
        """Bands in the scene: the utterances in or near the visible range."""
        return len(self._bands)

    def band(self, utterance_id: int) -> QGraphicsRectItem | None:
        return self._bands.get(utterance_id)

    def _draw(self, utt: Utterance, now: float) -> None:
        band = self._bands.get(utt.utterance_id)
        if band is None:
            band = _Band()
            band.setZValue(BAND_Z)
            self.plot.addItem(band)
            self._bands[utt.utterance_id] = band
        ev = utt.emotion
        end = utt.end_or(now)
        look = band_look(ev)
        if ev is None:
            height = MIN_HEIGHT
            color = QColor(UNCERTAIN_COLOR)
            pen = QPen(color, 0)
        else:
            height = max(MIN_HEIGHT, ev.confidence)
            color = QColor(self.emotion_colors.get(ev.label, self.emotion_colors[UNCERTAIN]))
            pen = QPen(color if ev.uncertain else color.darker(130), 0)
        pen.setStyle(look.pen)
        pen.setCosmetic(True)
        band.setPen(pen)
        band.setBrush(band_brush(look.brush, color, look.alpha))
        band.setRect(QRectF(utt.start, 0.0, max(0.05, end - utt.start), height))
        if ev is not None:
            caption = f"{ev.top_label}?" if ev.uncertain else ev.label
            text = self._texts.get(utt.utterance_id)
            if text is None:
                text = pg.TextItem(color=self._text_color, anchor=(0.5, 1))
                text.setFont(self._caption_font)
                text.setVisible(False)  # shown by _sync when it fits
                text.setZValue(CAPTION_Z)
                self.plot.addItem(text)
                self._texts[utt.utterance_id] = text
            if text.textItem.toPlainText() != caption:
                text.setText(caption)
            text.setPos(utt.start + (end - utt.start) / 2, height)

    def utterance_at(self, t: float) -> Utterance | None:
        """The utterance whose band covers stream time ``t`` (a pixel or so of slack at any zoom)."""
        xr = self.plot.getViewBox().viewRange()[0]
        return self.model.at(t, self.now, slack=(xr[1] - xr[0]) / 400.0)

    def tooltip_text(self, t: float) -> str | None:
        """What hovering at stream time ``t`` shows (None: no utterance or marker there)."""
        marker = self.marker_near(t)
        if marker is not None:  # a line a few pixels wide: it wins over the band behind it
            text = describe_marker(marker)
            return f"{text}\n{self.marker_hint}" if self.marker_hint else text
        utt = self.utterance_at(t)
        if utt is None:
            return None
        text = describe(utt, self.labels, self.now)
        return f"{text}\n{self.hint}" if self.hint else text

    def marker_near(self, t: float) -> MarkerEvent | None:
        """The marker drawn at stream time ``t`` (a few pixels of slack at any zoom)."""
        xr = self.plot.getViewBox().viewRange()[0]
        return self.model.marker_at(t, slack=(xr[1] - xr[0]) / 200.0)

    def _on_double_click(self, t: float) -> None:
        marker = self.marker_near(t)
        if marker is not None:
            self.marker_activated.emit(marker.marker_id)
            return
        utt = self.utterance_at(t)
        if utt is not None:
            self.utterance_activated.emit(utt.utterance_id)

    def _on_right_click(self, t: float, global_pos: QPoint) -> None:
        marker = self.marker_near(t)
        if marker is not None:
            self.marker_menu_requested.emit(marker.marker_id, global_pos)

    def _show_tooltip(self, t: float, global_pos: QPointF) -> None:
        text = self.tooltip_text(t)
        if text is None:
            QToolTip.hideText()
            return
        html = "<pre style='margin:0'>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>"
        QToolTip.showText(global_pos.toPoint(), html, self.plot)


class Swatch(QWidget):
    """A small painted square as a band is drawn in the timeline (``style`` as in :class:`BandLook`:
    hatched for "uncertain", striped for a partial result); no ``color``: the text colour."""

    def __init__(self, color: QColor | None, style: Qt.BrushStyle = Qt.BrushStyle.SolidPattern, size: int = 12,
                 parent=None):
        super().__init__(parent)
        self.color = QColor(color) if color is not None else None
        self.style = style
        self.setFixedSize(size, size)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        rect = self.rect().adjusted(0, 0, -1, -1)
        color = self.color if self.color is not None else self.palette().windowText().color()
        painter.setBrush(band_brush(self.style, color))
        # stripes alone: an outline (a dashed one least) blurs them at this size
        striped = self.style == Qt.BrushStyle.TexturePattern
        painter.setPen(Qt.PenStyle.NoPen if striped else QPen(color.darker(130), 1))
        painter.drawRect(rect)
        painter.end()


def _legend_chip(label: str, color: QColor | None, style: Qt.BrushStyle) -> QWidget:
    chip = QWidget()
    chip.setObjectName(f"legend_{label}")
    layout = QHBoxLayout(chip)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(Swatch(color, style))
    layout.addWidget(QLabel(label))
    return chip
