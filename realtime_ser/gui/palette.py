"""Emotion colours and the light/dark theme.

Colours come from the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness.  Labels the palette does not know (a model
trained on another label set) get the remaining colours in order, so any label
set renders.  "uncertain" is grey and drawn hatched, never a hue, so it cannot
be mistaken for an emotion.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from realtime_ser.pipeline.events import UNCERTAIN

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

_KNOWN = {
    "angry": OKABE_ITO["vermillion"],
    "happy": OKABE_ITO["orange"],
    "sad": OKABE_ITO["blue"],
    "neutral": OKABE_ITO["sky_blue"],
    "fearful": OKABE_ITO["reddish_purple"],
    "disgust": OKABE_ITO["bluish_green"],
    "surprised": OKABE_ITO["yellow"],
}
_FALLBACK_ORDER = ["vermillion", "orange", "blue", "sky_blue", "reddish_purple", "bluish_green", "yellow"]
UNCERTAIN_COLOR = "#8C8C8C"


def emotion_colors(labels: list[str]) -> dict[str, QColor]:
    """A colour for every label (plus "uncertain"), stable for the known label names."""
    used = {_KNOWN[lab] for lab in labels if lab in _KNOWN}
    spare = [OKABE_ITO[n] for n in _FALLBACK_ORDER if OKABE_ITO[n] not in used]
    colors: dict[str, QColor] = {}
    for i, lab in enumerate(labels):
        hex_color = _KNOWN.get(lab)
        if hex_color is None:
            hex_color = spare[i % len(spare)] if spare else UNCERTAIN_COLOR
        colors[lab] = QColor(hex_color)
    colors[UNCERTAIN] = QColor(UNCERTAIN_COLOR)
    return colors


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (none) to 21 (black on white)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable_text_color(color: QColor, background: QColor, minimum: float = 3.0) -> QColor:
    """``color``, lightened on a dark background or darkened on a light one just enough for text in
    it to reach ``minimum`` contrast (WCAG: 3 for large text, 4.5 for body text).  The palette's
    yellow on a light window, or its blue on a dark one, is otherwise hard to read as a word."""
    if contrast_ratio(color, background) >= minimum:
        return QColor(color)
    towards = QColor("white") if background.lightnessF() < 0.5 else QColor("black")
    for step in range(1, 21):
        t = step / 20
        mixed = QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(color.getRgbF()[:3], towards.getRgbF()[:3])))
        if contrast_ratio(mixed, background) >= minimum:
            return mixed
    return towards


def is_dark_theme() -> bool:
    """True when the system palette has a dark window background."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    hints = app.styleHints()
    try:
        from PySide6.QtCore import Qt

        scheme = hints.colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    except AttributeError:  # Qt < 6.5
        pass
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def plot_colors(dark: bool) -> dict[str, str]:
    """Background/foreground colours for the plots, matching the window theme."""
    if dark:
        return {"background": "#1E1F22", "foreground": "#D0D0D0", "trace": "#7FC8F8", "grid": "#3A3B3F",
                "speech": "#7FC8F8"}
    return {"background": "#FFFFFF", "foreground": "#303030", "trace": "#0B4F8A", "grid": "#D8D8D8",
            "speech": "#0072B2"}


def style_plot(plot, colors: dict[str, str]) -> None:
    """Apply background and axis colours to a pyqtgraph PlotWidget."""
    plot.setBackground(colors["background"])
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(colors["foreground"])
        axis.setTextPen(colors["foreground"])


def marker_pen(color: str):
    """The dashed line of a user's marker, the same on the waveform and the timeline."""
    return pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine)
