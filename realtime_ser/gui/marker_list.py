"""Audio -> Markers: every marked moment of the session in one list, to go to, re-word or delete.

A reviewer going through a recorded session works from its markers; the list shows them all
at once (the timeline only those in view) and reaches them from the keyboard. It stays open
beside the window (not modal) and follows the markers as they are set, edited or deleted.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from realtime_ser.gui.row_table import cell, row_table
from realtime_ser.pipeline.events import MarkerEvent
from realtime_ser.pipeline.summary import format_time

COLUMNS = ("#", "Time", "Note")
NO_NOTE = "(no note)"  # in grey where a marker has none (an empty cell looked like a fault)


class MarkerList(QDialog):
    """The markers in time order; signals carry the ``marker_id`` the user acts on."""

    go_to_requested = Signal(int)
    edit_requested = Signal(int)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Markers")
        self.resize(520, 360)
        self.heading = QLabel()
        self.table = row_table(COLUMNS)
        self.table.cellDoubleClicked.connect(lambda *_: self._double_clicked())
        self.table.itemSelectionChanged.connect(self._update_buttons)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.go_button = buttons.addButton("Go to", QDialogButtonBox.ButtonRole.ActionRole)
        self.go_button.setToolTip("Replay from just before the marker (while a recording is replayed)")
        self.edit_button = buttons.addButton("Edit note…", QDialogButtonBox.ButtonRole.ActionRole)
        # (an action like the others, so it comes last rather than first where the platform puts
        # destructive buttons)
        self.delete_button = buttons.addButton("Delete", QDialogButtonBox.ButtonRole.ActionRole)
        self.go_button.clicked.connect(lambda: self._emit(self.go_to_requested))
        self.edit_button.clicked.connect(lambda: self._emit(self.edit_requested))
        self.delete_button.clicked.connect(lambda: self._emit(self.delete_requested))
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.markers: list[MarkerEvent] = []
        self.can_go_to = False
        self._update_buttons()

    def set_markers(self, markers: list[MarkerEvent], can_go_to: bool) -> None:
        """Show ``markers`` (time order), keeping the selected one selected if it is still there.
        The heading says "3 markers in this recording" for a replayed file, a recorded session and
        the session being recorded alike."""
        selected = self.selected_id()
        self.markers = list(markers)
        self.can_go_to = can_go_to
        self.table.setRowCount(len(self.markers))
        for row, marker in enumerate(self.markers):
            for col, text in enumerate((str(marker.marker_id), format_time(marker.time), marker.note)):
                item = cell(text or NO_NOTE, number=col < 2)
                if not text:
                    item.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
                self.table.setItem(row, col, item)
            if marker.marker_id == selected:
                self.table.selectRow(row)
        if self.markers and self.selected_id() is None:  # a row chosen, so the buttons work at once
            self.table.selectRow(0)
        n = len(self.markers)
        self.heading.setText(f"{n} marker{'s' if n != 1 else ''} in this recording" if n else
                             "No markers yet: Mark moment (Ctrl+M) or Mark with note (Ctrl+Shift+M)")
        self._update_buttons()

    def selected_id(self) -> int | None:
        row = self.table.currentRow()
        rows = self.table.selectionModel().selectedRows()
        if not rows or not 0 <= row < len(self.markers):
            return None
        return self.markers[row].marker_id

    def _emit(self, signal) -> None:
        marker_id = self.selected_id()
        if marker_id is not None:
            signal.emit(marker_id)

    def _double_clicked(self) -> None:
        self._emit(self.go_to_requested if self.can_go_to else self.edit_requested)

    def _update_buttons(self) -> None:
        chosen = self.selected_id() is not None
        self.go_button.setEnabled(chosen and self.can_go_to)
        self.edit_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)
