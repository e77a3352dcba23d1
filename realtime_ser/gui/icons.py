"""Toolbar icons that stay visible in a light or a dark theme.

Qt's built-in media glyphs (play, pause, stop, seek) are drawn black by most styles: on a dark
window they all but vanish.  ``glyph`` recolours them in the palette's button-text colour, as the
labels beside them are.  ``marker_icon`` draws the flag of *Mark moment*, which Qt has no standard
icon for, in the same colour, so the action can show as an icon alone in a narrow window.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QWidget

#: The pixel sizes icons are prepared in: toolbar and button sizes at 1x and 2x scaling.
ICON_SIZES = (16, 20, 24, 32, 48)

#: Qt's monochrome media glyphs, recoloured to the text colour; the other standard icons (folder,
#: disk, information) are coloured pictures that read on either background and are left alone.
MONOCHROME_GLYPHS = frozenset({
    QStyle.StandardPixmap.SP_MediaPlay,
    QStyle.StandardPixmap.SP_MediaPause,
    QStyle.StandardPixmap.SP_MediaStop,
    QStyle.StandardPixmap.SP_MediaSeekForward,
    QStyle.StandardPixmap.SP_MediaSeekBackward,
})

#: The name of the drawn *Mark moment* flag for ``named_icon``.
MARKER = "marker"

_cache: dict[tuple, QIcon] = {}


def text_color(widget: QWidget) -> QColor:
    """The colour of a button's label in ``widget``'s palette."""
    return widget.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)


def tinted(icon: QIcon, color: QColor) -> QIcon:
    """``icon`` with every visible pixel painted ``color`` (its shape, i.e. alpha, kept)."""
    out = QIcon()
    for size in ICON_SIZES:
        pixmap = icon.pixmap(size, size)
        if pixmap.isNull():
            continue
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(pixmap.rect(), color)
        painter.end()
        out.addPixmap(pixmap)
    return out


def glyph(widget: QWidget, standard: QStyle.StandardPixmap) -> QIcon:
    """``widget``'s style icon ``standard``; a media glyph comes in the palette's text colour."""
    if standard not in MONOCHROME_GLYPHS:
        return widget.style().standardIcon(standard)
    color = text_color(widget)
    key = (standard, widget.style().name(), color.rgba())
    if key not in _cache:
        _cache[key] = tinted(widget.style().standardIcon(standard), color)
    return _cache[key]


def marker_icon(color: QColor) -> QIcon:
    """A small flag on a pole in ``color``: a moment marked on the timeline."""
    key = ("marker", color.rgba())
    if key in _cache:
        return _cache[key]
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        unit = size / 16.0
        painter.setPen(QPen(color, max(1.0, 1.5 * unit), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(4 * unit, 2 * unit), QPointF(4 * unit, 14.5 * unit))
        flag = QPainterPath()
        flag.moveTo(4.5 * unit, 2 * unit)
        flag.lineTo(13 * unit, 4.75 * unit)
        flag.lineTo(4.5 * unit, 7.5 * unit)
        flag.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillPath(flag, color)
        painter.end()
        icon.addPixmap(pixmap)
    _cache[key] = icon
    return icon


def named_icon(widget: QWidget, name: str) -> QIcon:
    """The icon called ``name`` for ``widget``'s palette: "marker", or a ``QStyle.StandardPixmap`` name."""
    if name == MARKER:
        return marker_icon(text_color(widget))
    return glyph(widget, getattr(QStyle.StandardPixmap, name))
