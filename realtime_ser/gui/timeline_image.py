"""The whole emotion timeline as a PNG, for a report or a paper: Export timeline… as ``.png``.

The image shows the session from 0 to its end whatever the view is zoomed to, with
the legend above it (the same chips as on screen); the view itself is put back as
it was.  Written to a temporary file and moved into place, like the CSV/JSON exports.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from realtime_ser.errors import SerError

IMAGE_WIDTH = 1800  # pixels; the height follows the view's aspect
MARGIN = 12


def save_timeline_image(view, path: str | os.PathLike, title: str = "") -> Path:
    """Render ``view`` (a :class:`TimelineView`) over the whole session into ``path`` (PNG)."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise SerError(f"{p}: an image export must be a .png file")
    if not p.parent.is_dir():
        raise SerError(f"{p}: no such folder")
    plot = view.render_whole_session(IMAGE_WIDTH)
    if plot is None or plot.isNull():
        raise SerError(f"{p}: the timeline could not be drawn")
    image = _with_header(plot, view.legend.grab().toImage(), title, view.plot.backgroundBrush().color(),
                         QColor(view.text_color))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".png", dir=p.parent)
        os.close(fd)
        if not image.save(tmp, "PNG"):
            raise SerError(f"{p}: cannot write the image")
        os.replace(tmp, p)
    except OSError as exc:
        raise SerError(f"{p}: cannot write the image ({exc.strerror})") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return p


def _with_header(plot: QImage, legend: QImage, title: str, background: QColor, text: QColor) -> QImage:
    """``plot`` under a line with ``title`` on the left and the legend on the right."""
    header = max(legend.height(), 24) + 2 * MARGIN
    image = QImage(plot.width(), plot.height() + header, QImage.Format.Format_RGB32)
    image.fill(background)
    painter = QPainter(image)
    try:
        font = QFont(painter.font())
        font.setPointSizeF(11.0)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text)
        painter.drawText(QRect(MARGIN, 0, plot.width() // 2, header), Qt.AlignmentFlag.AlignVCenter, title)
        painter.drawImage(QPoint(plot.width() - legend.width() - MARGIN, (header - legend.height()) // 2), legend)
        painter.drawImage(QPoint(0, header), plot)
    finally:
        painter.end()
    return image
