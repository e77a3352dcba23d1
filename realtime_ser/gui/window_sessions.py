"""The main window's files: record and name a session, export the timeline, open a recording.

A mixin of :class:`realtime_ser.gui.main_window.MainWindow`, which owns the state it
uses (``engine``, ``settings``, ``sessions_dir``, ``timeline_model``, ``record_action``, ...).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from realtime_ser.audio.io import AUDIO_EXTENSIONS
from realtime_ser.errors import SerError
from realtime_ser.gui.engine import session_display_name
from realtime_ser.gui.questions import ask_recording_title, recording_ended_while_asking
from realtime_ser.gui.status_indicators import saved_in, shown_path
from realtime_ser.gui.timeline_image import save_timeline_image
from realtime_ser.gui.timeline_model import export_timeline, format_time


class SessionActions:
    """What Record session, Name this recording…, Export timeline…, Open recording… and Recorded
    sessions… do."""

    def ask_recording_title(self) -> None:
        """Name the session being recorded; the recording goes on while the question is open."""
        recorder = self.engine.recorder
        if recorder is None:
            return
        self._title_dialog = ask_recording_title(self, recorder.title, lambda text: self.name_recording(text, recorder))

    def _rename_if_recording(self, folder: Path, title: str) -> bool:
        """The session browser's Rename of the session being recorded goes through its recorder."""
        recorder = self.engine.recorder
        if recorder is None or recorder.folder is None or Path(recorder.folder).resolve() != folder.resolve():
            return False
        self.name_recording(title, recorder)
        return True

    def _session_renamed(self, folder: Path, title: str) -> None:
        """The session being replayed was renamed in the browser: the replay bar and the window
        title name it so at once (they kept the old name until it was opened again)."""
        info = self.engine.info
        replayed = info.session_folder if info is not None else None
        if replayed is None or replayed.resolve() != folder.resolve():
            return
        info.name = session_display_name(title, replayed)
        self.replay_bar.rename(info.name)
        self.status_indicators.show_source(info)
        self._update_title()

    def name_recording(self, title: str, recorder=None) -> None:
        """Give the session being recorded (or ``recorder``'s, if it has stopped since) a title."""
        recorder = recorder or self.engine.recorder
        if recorder is None:
            return
        try:
            stored = recorder.set_title(title)
        except SerError as exc:
            self.show_error(str(exc))
            return
        self.statusBar().showMessage(f"Session named “{stored}”" if stored else "Session name removed", 5000)
        self._update_title()

    def _show_not_recording(self) -> None:
        """Record shown off without set_recording running (nothing is recording, or it was stopped)."""
        self.record_action.blockSignals(True)
        self.record_action.setChecked(False)
        self.record_action.blockSignals(False)
        if self._quit_box is not None and self._quit_box.isVisible():
            recording_ended_while_asking(self._quit_box)

    def set_recording(self, on: bool) -> None:
        if not on:
            was_recording = self.engine.recorder is not None
            folder = self.engine.stop_recording()
            if folder is not None:
                self.statusBar().showMessage(saved_in(folder), 8000)
            elif was_recording:
                self.statusBar().showMessage("Recording stopped before any audio reached it: nothing was kept", 8000)
            return
        if not self.engine.running and not self.start_microphone(demo_instead=False):
            self._show_not_recording()
            self.statusBar().showMessage("Not recording: no microphone could be opened (see the notice above)", 10000)
            return
        try:
            settings = dict(self.config.to_dict(), vad_threshold_db=self.engine.threshold_db,
                            sensitivity=self.settings.sensitivity)
            folder = self.engine.start_recording(self.sessions_dir, settings)
        except (SerError, OSError) as exc:
            self.show_error(f"cannot record: {exc}")
            self._show_not_recording()
            return
        self._carry_markers_into_recording()
        self.statusBar().showMessage(f"Recording into {shown_path(folder)}", 5000)
        self._update_controls()

    def export_to(self, path: str | Path) -> Path:
        """The timeline as CSV or JSON (the results), or PNG (a picture of the whole session)."""
        if Path(path).suffix.lower() == ".png":
            info = self.engine.info
            # Up to the audio shown, not to the timeline's last redraw (up to 0.3 s older).
            self.timeline.refresh(self.envelope.end_time)
            title = f"{info.shown_name} — {format_time(self.timeline.now)}" if info is not None else ""
            return save_timeline_image(self.timeline, path, title)
        info = self.engine.info
        return export_timeline(self.timeline_model.final_events(), self.labels, path, self.timeline_model.markers,
                               info.shown_name if info is not None else "")

    #: The export dialog's file types and their extensions (export_to reads the format from the extension).
    EXPORT_TYPES = {"CSV (*.csv)": ".csv", "JSON (*.json)": ".json", "PNG image (*.png)": ".png"}

    @classmethod
    def export_path(cls, name: str, selected_filter: str) -> str:
        """The file to export to, from the name given in the save dialog and the file type chosen there:
        a name without an export extension gets the type's ("results" with JSON chosen: results.json),
        as the dialog does not add it; a name with one keeps it, whatever the type."""
        extension = cls.EXPORT_TYPES.get(selected_filter)
        if extension is None or Path(name).suffix.lower() in cls.EXPORT_TYPES.values():
            return name
        return name.rstrip(".") + extension

    def export_dialog(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        start = str(Path(self.settings.last_dir or Path.home()) / f"{self._export_stem()}.csv")
        chosen, selected_filter = QFileDialog.getSaveFileName(self, "Export timeline", start,
                                                              ";;".join(self.EXPORT_TYPES))
        if not chosen:
            return
        path = self.export_path(chosen, selected_filter)
        # The dialog asked about replacing the name typed, not the one with its extension added.
        if path != chosen and Path(path).exists() and QMessageBox.question(
                self, "Export timeline", f"{Path(path).name} already exists. Replace it?") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            out = self.export_to(path)
        except SerError as exc:
            self.show_error(str(exc))
            return
        if out.suffix.lower() == ".png":
            self.statusBar().showMessage(f"Saved a picture of the whole timeline in {out}", 6000)
            return
        markers = len(self.timeline_model.markers)
        also = f" and {markers} marker{'s' if markers != 1 else ''}" if markers else ""
        self.statusBar().showMessage(f"Exported {len(self.timeline_model.final_events())} utterances{also} to {out}",
                                     6000)

    def _export_stem(self) -> str:
        """A file name that says what was exported: 'interview-emotions' for interview.mp3 or a session
        folder, 'microphone-emotions-20261124-1530' for a live session."""
        info = self.engine.info
        if info is None or info.path is None:
            return time.strftime("microphone-emotions-%Y%m%d-%H%M")
        name = info.session_folder.name if info.session_folder is not None else info.path.stem
        return f"{name}-channel{info.channel}-emotions" if info.channel else f"{name}-emotions"

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in AUDIO_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open recording", self.settings.last_dir or str(Path.home()),
            f"Recordings ({patterns} manifest.json);;All files (*)")
        if path:
            self.open_recording(path)

    def show_sessions(self) -> None:
        """The session browser over the session folder (non-blocking); picking one replays it."""
        from realtime_ser.gui.session_browser import SessionBrowser

        browser = SessionBrowser(self.sessions_dir, self.open_session_dialog, self, self._rename_if_recording)
        browser.replay_requested.connect(self.open_recording)
        browser.renamed.connect(self._session_renamed)
        self._session_browser = browser
        browser.open()

    def open_session_dialog(self) -> None:
        start = str(self.sessions_dir if self.sessions_dir.is_dir() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open session folder", start)
        if folder:
            self.open_recording(folder)
