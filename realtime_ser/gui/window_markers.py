"""The main window's markers: set one (with a note), edit or delete it, list them, replay from one.

A mixin of :class:`realtime_ser.gui.main_window.MainWindow`, which owns the state it
uses (``engine``, ``timeline_model``, ``timeline``, ``envelope``, ``marker_list``, ...).
A marker is kept where the audio is kept: in the recording being made, in a replayed
session's folder, or, for a plain audio file, in the app's data folder.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu

from realtime_ser.errors import SerError
from realtime_ser.gui.questions import ask_marker_note
from realtime_ser.gui.timeline_model import format_time
from realtime_ser.pipeline.events import MarkerEvent
from realtime_ser.session.file_marks import save_marks

MARKER_LEAD_S = 2.0  # a double-clicked marker replays from this long before it


class MarkerActions:
    """What Mark moment, Mark with note, Markers… and a marker's right-click menu do."""

    def add_marker(self, note: str = "", at: float | None = None) -> MarkerEvent | None:
        """Mark the moment now (or stream time ``at``): a line on the timeline, kept in a recording.

        Returns the marker, or None when nothing is running to mark.
        """
        if at is None:
            if not self.engine.running:
                self.statusBar().showMessage("Start listening or a replay to mark a moment", 6000)
                return None
            at = self._moment_now()
        marker = MarkerEvent(self.timeline_model.next_marker_id(), round(max(0.0, at), 3), note.strip())
        marker, saved = self._keep_marker(marker, new=True)
        self.statusBar().showMessage(f"Marker {marker.marker_id} at {format_time(marker.time)}{saved}", 6000)
        return marker

    def _moment_now(self) -> float:
        """What Mark marks: the newest audio on screen (what the user just heard or saw), or where a
        replay was just sought to (paused: seek there, then mark it)."""
        return self.replay_position() if self.mode == "replay" else self.envelope.end_time

    def _keep_marker(self, marker: MarkerEvent, new: bool = False) -> tuple[MarkerEvent, str]:
        """Show a new or changed marker and store it where the audio is stored; returns it as stored
        (a new one in a replayed session takes the next free number, should another program have
        given this one meanwhile) and where, for the status bar (" (saved in the recording)",
        " (saved in the session)", " (kept for this file)" or "")."""
        saved = " (saved in the recording)" if self.engine.recorder is not None else ""
        info = self.engine.info
        replayed = not saved and self.mode == "replay" and info is not None
        if replayed and info.session_folder is not None:
            # Replaying a recorded session: the mark is an annotation of it, kept with it.
            from realtime_ser.session.annotate import add_marker as add_marker_to_session

            try:
                marker = add_marker_to_session(info.session_folder, marker, new=new)
                saved = " (saved in the session)"
            except SerError as exc:
                self.show_error(f"marker {marker.marker_id} is shown but not saved: {exc}")
        self.timeline_model.add_marker(marker)
        self.engine.add_marker(marker)
        if replayed and info.session_folder is None and info.audio_path is not None:
            # A plain recording: never written to; its marks are kept for it in the app's data folder.
            try:
                save_marks(self.file_marks_dir, info.audio_path, self.timeline_model.markers,
                           self.timeline_model.next_marker_id() - 1)
                saved = " (kept for this file)"
            except SerError as exc:
                self.show_error(f"marker {marker.marker_id} is shown but not kept: {exc}")
        now = self.envelope.end_time
        self.timeline.refresh(now)
        self._refresh_waveform(now)
        self._sync_marker_list()
        return marker, saved

    def _carry_markers_into_recording(self) -> None:
        """Recording a replay of a session: its markers from here on go into the new recording as the
        replay reaches them (as `listen --replay SESSION --record` does); they were shown and not kept."""
        info = self.engine.info
        if self.mode != "replay" or info is None or info.session_folder is None:
            self._markers_to_carry = []
            return
        start = self.replay_position()
        self._markers_to_carry = [m.marker_id for m in self.timeline_model.markers if m.time >= start]

    def _carry_reached_markers(self, now: float) -> None:
        """Called on every tick: the carried markers the replay has reached, into the recording (as they
        are now: a note edited meanwhile with its new text, a deleted one not at all)."""
        due = self._markers_to_carry
        if not due:
            return
        if self.engine.recorder is None:
            due.clear()
            return
        while due:
            marker = self.timeline_model.marker(due[0])
            if marker is not None and marker.time > now:
                break
            due.pop(0)
            if marker is not None and not marker.removed:
                self.engine.add_marker(marker)

    def edit_marker_note(self, marker_id: int, note: str) -> None:
        """Give a marker a new note (in a recording: a later line replaces the earlier one)."""
        marker = self.timeline_model.marker(marker_id)
        if marker is not None:
            _, saved = self._keep_marker(dataclasses.replace(marker, note=note.strip()))
            self.statusBar().showMessage(f"Marker {marker_id}: note changed{saved}", 6000)

    def delete_marker(self, marker_id: int) -> None:
        """Take a marker set by mistake away (in a recording: a line saying it is removed)."""
        marker = self.timeline_model.marker(marker_id)
        if marker is not None:
            _, saved = self._keep_marker(dataclasses.replace(marker, removed=True))
            self.statusBar().showMessage(f"Marker {marker_id} deleted{saved}", 6000)

    def _marker_menu(self, marker_id: int, where: QPoint) -> None:
        """Right-click on a marker: edit its note or delete it."""
        marker = self.timeline_model.marker(marker_id)
        if marker is None:
            return
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per right-click: not kept
        menu.addAction("Edit note…", lambda: self.ask_to_edit_marker(marker_id))
        menu.addAction("Delete marker", lambda: self.delete_marker(marker_id))
        self.marker_menu = menu  # tests reach it here
        menu.popup(where)

    def ask_to_edit_marker(self, marker_id: int) -> None:
        """The note dialog, filled with the marker's note (non-blocking)."""
        marker = self.timeline_model.marker(marker_id)
        if marker is None:
            return
        run = self._runs

        def note_given(text: str) -> None:
            if run == self._runs:  # still the same session
                self.edit_marker_note(marker_id, text)

        self._note_dialog = ask_marker_note(self, marker.time, note_given, marker.note, f"Marker {marker_id}")

    def show_marker_list(self) -> None:
        """Audio -> Markers: all of the session's markers, beside the window."""
        if self.marker_list is None:
            from realtime_ser.gui.marker_list import MarkerList

            self.marker_list = MarkerList(self)
            self.marker_list.go_to_requested.connect(self.replay_from_marker)
            self.marker_list.edit_requested.connect(self.ask_to_edit_marker)
            self.marker_list.delete_requested.connect(self.delete_marker)
            self._marker_list_shows = None
        self._sync_marker_list()
        self.marker_list.show()
        self.marker_list.raise_()

    def _sync_marker_list(self, can_go_to: bool | None = None) -> None:
        """Bring an open marker list up to date (cheap when nothing changed); ``can_go_to``: the
        caller's :attr:`replay_seekable`, if it has it."""
        if self.marker_list is None:
            return
        if can_go_to is None:
            can_go_to = self.replay_seekable
        state = (self.timeline_model.markers_version, can_go_to)
        if state != self._marker_list_shows:
            self._marker_list_shows = state
            self.marker_list.set_markers(self.timeline_model.markers, can_go_to)

    def replay_from_marker(self, marker_id: int) -> None:
        """Double-click on a marker in a replay: go back to just before it, to hear what led to it."""
        marker = next((m for m in self.timeline_model.markers if m.marker_id == marker_id), None)
        if marker is None or not self.replay_seekable:
            self.statusBar().showMessage("Markers can be replayed from in a replayed recording", 6000)
            return
        self.seek(max(0.0, marker.time - MARKER_LEAD_S))
        self.statusBar().showMessage(f"Replaying from just before marker {marker.marker_id}", 6000)

    def mark_with_note(self) -> None:
        """Mark the moment of the key press, then ask for a note (without stopping the audio)."""
        if not self.engine.running:
            self.add_marker()  # says why nothing is marked
            return
        at, run = self._moment_now(), self._runs  # as Mark would (a paused replay sought elsewhere: there)

        def accepted(text: str) -> None:
            if run == self._runs:  # still the same session
                self.add_marker(text, at)

        self._note_dialog = ask_marker_note(self, at, accepted)
