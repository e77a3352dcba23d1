"""The questions the main window asks, window-modal but non-blocking: the audio goes on meanwhile.

Each returns the open dialog; the window keeps it (and tests reach it there).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from realtime_ser.gui.timeline_model import format_time


def ask_to_quit_recording(parent: QWidget, quit_now: Callable[[], None]) -> QMessageBox:
    """Closing while a session is recorded: ``quit_now`` runs only if the user confirms."""
    box = QMessageBox(QMessageBox.Icon.Question, "Quit realtime-ser",
                      "A session is being recorded. Stop recording and quit?\n"
                      "Everything recorded so far is kept.", parent=parent)
    quit_button = box.addButton("Stop recording and quit", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(quit_button)
    box.buttonClicked.connect(lambda button: quit_now() if button is quit_button else None)
    box.quit_button = quit_button
    box.open()
    return box


def recording_ended_while_asking(box: QMessageBox) -> None:
    """The recording the quit question is about ended meanwhile (its replay did) and was saved: ask
    what is still to be asked."""
    box.setText("The recording has ended and was saved.\nQuit realtime-ser?")
    box.quit_button.setText("Quit")


def ask_marker_note(parent: QWidget, at: float, note_given: Callable[[str], None], note: str = "",
                    title: str = "Mark with note") -> QInputDialog:
    """The note for a marker at stream time ``at`` (``note``: the one it has); ``note_given`` gets it
    when the user presses OK."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(f"Note for the moment at {format_time(at)}:")
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setTextValue(note)
    dialog.textValueSelected.connect(note_given)
    dialog.open()
    return dialog


def ask_recording_title(parent: QWidget, title: str | None, title_given: Callable[[str], None]) -> QInputDialog:
    """A name for the session being recorded (``title``: the one it has); empty removes it."""
    return ask_session_title(parent, "Name this recording",
                             "Title of the session being recorded, e.g. \"P07 baseline\" (empty: none):", title,
                             title_given)


def ask_session_title(parent: QWidget, window_title: str, label: str, title: str | None,
                      title_given: Callable[[str], None]) -> QInputDialog:
    """A session's title, typed in a box that takes no more than a title may hold (a longer one was cut
    when stored, without a word: the user would not know what was kept)."""
    from PySide6.QtWidgets import QLineEdit

    from realtime_ser.session.format import MAX_TITLE_CHARS

    dialog = QInputDialog(parent)
    dialog.setWindowTitle(window_title)
    dialog.setLabelText(label)
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.findChild(QLineEdit).setMaxLength(MAX_TITLE_CHARS)
    dialog.setTextValue(title or "")
    dialog.textValueSelected.connect(title_given)
    dialog.open()
    return dialog
