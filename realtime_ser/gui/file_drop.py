"""Drag and drop onto the window: which dragged item it can replay."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDropEvent

from realtime_ser.audio.io import AUDIO_EXTENSIONS
from realtime_ser.session.format import named_session_folder


def dropped_recording(event: QDropEvent) -> Path | None:
    """The one local recording, session folder or manifest dragged in, else None.

    ``event`` is a drag-enter, drag-move or drop event (the first two are drop events in Qt).
    """
    mime = event.mimeData()
    urls = mime.urls() if mime is not None and mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    if named_session_folder(path) is not None or path.suffix.lower() in AUDIO_EXTENSIONS:
        return path
    return None
