"""File -> Open recent: the recordings and session folders opened lately (kept in the GUI settings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMenu, QWidget

from realtime_ser.gui.settings import GuiSettings


class RecentMenu(QMenu):
    """Filled anew each time it opens, so that files deleted meanwhile are not offered."""

    def __init__(self, settings: GuiSettings, open_path: Callable[[str], object], parent: QWidget | None = None):
        super().__init__("Open recent", parent)
        self._settings = settings
        self._open_path = open_path
        self.aboutToShow.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        """Recordings and sessions opened lately; ones that no longer exist are left out."""
        self.clear()
        recent = [p for p in self._settings.recent if Path(p).exists()]
        for number, path in enumerate(recent, start=1):
            name = Path(path).name or path
            action = self.addAction(f"&{number} {name}" if number < 10 else name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self._open_path(p))
        if not recent:
            self.addAction("(none)").setEnabled(False)
        self.addSeparator()
        clear = self.addAction("Clear list")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(self.clear_list)

    def clear_list(self) -> None:
        self._settings.recent = []
