"""Session folders: recording audio + events as they happen, reading them back, repairing crashes.

See :mod:`realtime_ser.session.format` for the on-disk format (versioned).
"""

from realtime_ser.session.format import FORMAT_NAME, FORMAT_VERSION
from realtime_ser.session.reader import Session, find_sessions, is_session_folder
from realtime_ser.session.recorder import SessionRecorder
from realtime_ser.session.repair import RepairReport, is_being_recorded, needs_repair, repair, repair_interrupted

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "RepairReport",
    "Session",
    "SessionRecorder",
    "find_sessions",
    "is_being_recorded",
    "is_session_folder",
    "needs_repair",
    "repair",
    "repair_interrupted",
]
