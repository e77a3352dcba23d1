"""User-facing error types.

Every failure a user can cause (a bad file, a missing device, a corrupt model)
is raised as a subclass of :class:`SerError` whose message is one readable line.
Front ends catch ``SerError``, print the message and exit non-zero; anything
else is a bug and keeps its traceback.
"""


class SerError(Exception):
    """Base class: an expected failure with a one-line, user-readable message."""

    #: What was found before the failure, where the failing call finds things (events of a file
    #: cut short, from :func:`realtime_ser.pipeline.worker.analyze_source`): kept, not thrown away.
    found_before: tuple | list = ()  # set per instance; an empty tuple here, so nothing is shared


class AudioFileError(SerError):
    """An audio file is missing, unreadable, empty, corrupt or unsupported."""


class DeviceError(SerError):
    """An audio device is missing, has no input channels or went away."""


class ModelError(SerError):
    """A model file is missing, corrupt, or its metadata does not match."""


class SessionError(SerError):
    """A session folder or event log is malformed."""


class ConfigError(SerError):
    """A configuration file is malformed."""
