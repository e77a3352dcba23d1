"""File -> Recorded sessions: the session folder's recordings at a glance, one double-click from a replay.

The same summaries as ``realtime-ser sessions`` (:mod:`realtime_ser.session.catalog`), newest
first: when (to the second, so two sessions of the same minute look different), its title, how
long, how the recording ended, utterances, markers and how the speech sounded.  *Rename…* gives a
session a title ("P07 baseline").  Unreadable sessions, and folders named like sessions that lack
their manifest, are counted below the table (each in its tooltip), not hidden.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from realtime_ser.errors import SerError
from realtime_ser.gui.questions import ask_session_title
from realtime_ser.gui.row_table import cell, row_table
from realtime_ser.pipeline.summary import format_time
from realtime_ser.session.annotate import set_title
from realtime_ser.session.catalog import SessionSummary, catalog

COLUMNS = ("Started", "Title", "Length", "Status", "Utterances", "Markers", "Speech sounded", "Folder")
TITLE, SPEECH = 1, 6  # columns
TITLE_MIN_PX = 160  # the Title column at its narrowest (with no titles it shrank to its heading)
TITLE_OPEN_PX = 320  # at most this much of a long title when the window opens (a wider window shows more)
UNTITLED = "(untitled)"  # in grey, as "no speech" (a blank cell and a "-" looked like faults)
NO_SPEECH = "no speech"


def newest_first(summaries: list[SessionSummary]) -> list[SessionSummary]:
    """By start time, newest first (to the millisecond, UTC offsets allowed for, whatever the folders
    are called); sessions whose start is unknown last, by folder name."""
    def key(s: SessionSummary) -> tuple:
        started = s.started_time
        return (started is not None, started.timestamp() if started is not None else 0.0, Path(s.folder).name)

    return sorted(summaries, key=key, reverse=True)


class SessionBrowser(QDialog):
    """Lists the sessions in ``folder``; ``replay_requested(path)`` when the user picks one."""

    replay_requested = Signal(Path)
    renamed = Signal(Path, str)  # a session folder and its new title ("" when it was removed)

    def __init__(self, folder: Path, browse_elsewhere: Callable[[], object], parent: QWidget | None = None,
                 rename_recording: Callable[[Path, str], bool] | None = None):
        """``rename_recording(folder, title)`` names the session this window is recording (True if
        ``folder`` is that one): a finished session's manifest is rewritten here, a recording's only
        by its recorder."""
        super().__init__(parent)
        self.folder = Path(folder)
        self.rename_recording = rename_recording
        self.setWindowTitle("Recorded sessions")
        self.resize(960, 420)
        self.heading = QLabel()
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = row_table(COLUMNS)
        # Every column as wide as its contents, the Folder too (it was cut short by a long title); the
        # Title takes the room they leave, at least TITLE_MIN_PX (a longer title is cut, its tooltip whole).
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Interactive)
        self.table.viewport().installEventFilter(self)
        self.table.setWordWrap(False)  # one line a session: a long title ends in "…" (its tooltip has it all)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._replay_row(row))
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #D55E00;")
        self.problems.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.replay_button = buttons.addButton("Replay", QDialogButtonBox.ButtonRole.AcceptRole)
        self.replay_button.setDefault(True)
        self.replay_button.clicked.connect(lambda: self._replay_row(self.table.currentRow()))
        other = buttons.addButton("Other folder…", QDialogButtonBox.ButtonRole.ActionRole)
        other.setToolTip("Replay a session folder from somewhere else")
        other.clicked.connect(lambda: (self.reject(), browse_elsewhere()))
        self.rename_button = buttons.addButton("Rename…", QDialogButtonBox.ButtonRole.ActionRole)
        self.rename_button.setToolTip("Give the session a title, e.g. \"P07 baseline\"")
        self.rename_button.clicked.connect(self.ask_title)
        self.show_folder_button = buttons.addButton("Show folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_folder_button.setToolTip("Open the session folder in the file manager")
        self.show_folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder))))
        buttons.rejected.connect(self.reject)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)
        self.summaries: list[SessionSummary] = []
        self.reload()
        self._widen_to_fit()

    def reload(self, select: str | None = None) -> None:
        """Read the folder again; ``select`` (a session folder) stays the chosen row."""
        summaries, errors = catalog(self.folder) if self.folder.is_dir() else ([], [])
        self.summaries = newest_first(summaries)  # the one just recorded is on top
        where = html.escape(str(self.folder), quote=False)  # the heading is rich text; a path is not
        if not self.summaries:
            self.heading.setText(f"No sessions recorded yet in {where}. Record one with "
                                 "<b>Record session</b> (Ctrl+R).")
        else:
            self.heading.setText(f"{len(self.summaries)} session{'s' if len(self.summaries) != 1 else ''} "
                                 f"in {where}; double-click one to replay it.")
        self.table.setRowCount(len(self.summaries))
        grey = self.palette().color(QPalette.ColorRole.PlaceholderText)
        for row, s in enumerate(self.summaries):
            speech = s.emotions if s.utterances and s.emotions != "-" else ""
            cells = (s.started_short, s.title or "", format_time(s.duration_s)[:-2], s.status, str(s.utterances),
                     str(s.markers), speech, Path(s.folder).name)
            for col, text in enumerate(cells):
                item = cell(text or {TITLE: UNTITLED, SPEECH: NO_SPEECH}.get(col, ""), number=col in (2, 4, 5))
                if not text and col in (TITLE, SPEECH):
                    item.setForeground(grey)
                item.setToolTip(f"{s.title}\n{s.folder}" if col == TITLE and s.title else s.folder)
                self.table.setItem(row, col, item)
        self._fit_title()
        folders = [s.folder for s in self.summaries]
        if self.summaries:
            self.table.selectRow(folders.index(select) if select in folders else 0)
        problem = ""
        if errors:  # a folder named like a session without its manifest too: it may hold a recording
            problem = (f"{len(errors)} session folder{'s' if len(errors) != 1 else ''} could not be read: "
                       f"{errors[0]}" + (" …" if len(errors) > 1 else ""))
        self._show_problem(problem, details="\n".join(errors))  # every one, for the "…"
        self._update_buttons()

    def _fit_title(self) -> None:
        """The Title column: the width the other columns leave (they are as wide as their contents),
        at least TITLE_MIN_PX; with less room than that the table scrolls sideways."""
        header = self.table.horizontalHeader()
        others = sum(max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c))
                     for c in range(len(COLUMNS)) if c != TITLE)
        header.resizeSection(TITLE, max(TITLE_MIN_PX, self.table.viewport().width() - others))

    def _widen_to_fit(self) -> None:
        """Open wide enough for every column (a long title up to TITLE_OPEN_PX), within the screen."""
        header = self.table.horizontalHeader()
        title = min(max(TITLE_MIN_PX, self.table.sizeHintForColumn(TITLE)), TITLE_OPEN_PX)
        columns = title + sum(max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c))
                              for c in range(len(COLUMNS)) if c != TITLE)
        margins = self.layout().contentsMargins()  # and the table's frame and vertical scroll bar
        chrome = (margins.left() + margins.right() + 2 * self.table.frameWidth()
                  + self.table.verticalScrollBar().sizeHint().width())
        screen = self.screen().availableGeometry().width() if self.screen() is not None else self.width()
        self.resize(max(self.width(), min(columns + chrome, int(0.95 * screen))), self.height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt naming)
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_title()  # the room the other columns leave changed
        return super().eventFilter(watched, event)

    def _show_problem(self, text: str, details: str = "") -> None:
        self.problems.setText(text)
        self.problems.setToolTip(details)
        self.problems.setVisible(bool(text))

    def ask_title(self) -> None:
        """Rename the chosen session (non-blocking dialog, filled with its title)."""
        row = self.table.currentRow()
        if not 0 <= row < len(self.summaries):
            return
        chosen = self.summaries[row]
        self.title_dialog = ask_session_title(  # tests reach it here
            self, "Rename session", f"Title of the session of {chosen.started_short} (empty: none):", chosen.title,
            lambda text: self.rename(chosen.folder, text))

    def rename(self, folder: str, title: str) -> None:
        try:
            if self.rename_recording is None or not self.rename_recording(Path(folder), title):
                set_title(folder, title)
        except SerError as exc:
            self._show_problem(str(exc))
            return
        self.reload(select=folder)
        stored = next((s.title for s in self.summaries if s.folder == str(folder)), None)
        self.renamed.emit(Path(folder), stored or "")  # as stored: spaces and control characters tidied

    def _update_buttons(self) -> None:
        chosen = 0 <= self.table.currentRow() < len(self.summaries)
        self.replay_button.setEnabled(chosen)
        self.rename_button.setEnabled(chosen)
        self.show_folder_button.setEnabled(self.folder.is_dir())

    def _replay_row(self, row: int) -> None:
        if 0 <= row < len(self.summaries):
            self.accept()
            self.replay_requested.emit(Path(self.summaries[row].folder))
