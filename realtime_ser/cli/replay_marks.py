"""The markers of a recording ``listen --replay`` plays, and where a note typed meanwhile is kept.

As in the app: a replayed session's markers are shown as the replay reaches them, and a marker
set while replaying it is an annotation of it, saved in its folder; a plain audio file is never
written to, so its marks are kept for it in the app's data folder (the marks the app set on it
are shown too).  A replay that is recorded (``--record``) keeps new markers in the new recording
instead; the caller decides that.
"""

from __future__ import annotations

from pathlib import Path

from realtime_ser.pipeline.events import MarkerEvent


class ReplayMarks:
    """``stored``: the recording's markers in time order; ``last_marker_id``: the highest number it
    gave (deleted markers included), after which typed ones are numbered; ``kept_where``: how the
    terminal hint names where :meth:`keep` puts a new marker ("" when nowhere)."""

    def __init__(self, stored: list[MarkerEvent] | None = None, last_marker_id: int = 0,
                 session_folder: Path | None = None, audio_file: Path | None = None):
        self.stored = sorted(stored or [], key=lambda m: m.time)
        self.last_marker_id = max([last_marker_id] + [m.marker_id for m in self.stored])
        self._session_folder = session_folder
        self._audio_file = audio_file
        self._file_markers = list(self.stored)  # a plain file's marks are saved as one list
        if session_folder is not None:
            self.kept_where = "saved in the session"
        elif audio_file is not None:
            self.kept_where = "kept for this file"
        else:
            self.kept_where = ""

    @classmethod
    def of_session(cls, folder: Path, session) -> "ReplayMarks":
        return cls(session.markers, session.last_marker_id, session_folder=folder)

    @classmethod
    def of_file(cls, audio: Path) -> "ReplayMarks":
        from realtime_ser.session.file_marks import default_marks_dir, load_marks

        kept = load_marks(default_marks_dir(), audio)  # none for a file changed since they were set
        return cls(kept.markers, kept.last_marker_id, audio_file=audio)

    def keep(self, marker: MarkerEvent) -> MarkerEvent:
        """Save a marker typed during the replay with the recording and return it as saved (numbered
        after any another program added meanwhile); SerError if it cannot be."""
        if self._session_folder is not None:
            from realtime_ser.session.annotate import add_marker

            return add_marker(self._session_folder, marker, new=True)
        elif self._audio_file is not None:
            from realtime_ser.session.file_marks import default_marks_dir, save_marks

            save_marks(default_marks_dir(), self._audio_file, self._file_markers + [marker], marker.marker_id)
            self._file_markers.append(marker)
        return marker
