"""User settings: one small JSON file in the platform's config folder.

``~/.config/realtime-ser/config.json`` on Linux (``platformdirs``; the
environment variable ``REALTIME_SER_CONFIG_DIR`` moves the folder, as for the
GUI's own ``gui.ini``).  A missing file means defaults.  A setting with the
wrong type or out of range is a :class:`~realtime_ser.errors.ConfigError`
naming the file and the key (or, with ``strict=False``, a warning and that
setting's default); unknown keys are ignored with a warning.  A bad setting that
the run does not use (a command-line option replaces it, or the command has no use
for it) is only a warning too.  Window geometry and other view state are not here:
the GUI keeps those in its QSettings.

Example::

    {
      "version": 1,
      "device": "USB Microphone",
      "vad_threshold_db": 12.0,
      "confidence_threshold": 0.4,
      "smoothing": 0.3,
      "record_sessions": true,
      "session_dir": "/home/me/recordings"
    }
"""

from __future__ import annotations

import dataclasses
import difflib
import errno
import json
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from realtime_ser.atomic_file import write_text_atomic
from realtime_ser.errors import ConfigError
from realtime_ser.jsonfile import is_finite_number, read_json

APP_NAME = "realtime-ser"
CONFIG_NAME = "config.json"
CONFIG_VERSION = 1
#: Config files larger than this are not ours.
MAX_CONFIG_BYTES = 1 << 20


class ConfigWarning(UserWarning):
    """Something in the config file was ignored (unknown key, or a bad value with ``strict=False``)."""


def config_dir() -> Path:
    folder = os.environ.get("REALTIME_SER_CONFIG_DIR")
    return Path(folder) if folder else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return config_dir() / CONFIG_NAME


def default_session_dir() -> Path:
    """Where recorded sessions go unless the user chooses otherwise."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "sessions"


@dataclass
class Settings:
    """Everything a user can set that outlives one run (see the module docstring)."""

    #: Input device name (or index); None means the system default.
    device: str | int | None = None
    #: A frame is speech when it is this many dB above the adaptive noise floor.
    vad_threshold_db: float = 12.0
    #: Results whose top probability is below this are shown as "uncertain".
    confidence_threshold: float = 0.4
    #: Weight of earlier partial results within an utterance (0 = no smoothing).
    smoothing: float = 0.3
    #: Seconds between partial results while someone speaks.
    partial_interval_s: float = 0.5
    #: Longer speech is cut into several utterances.
    max_utterance_s: float = 10.0
    #: A .tflite model other than the bundled one; None means the bundled model.
    model_path: str | None = None
    #: Record every listening session to ``session_dir``.
    record_sessions: bool = False
    #: Parent folder of recorded sessions; None means :func:`default_session_dir`.
    session_dir: str | None = None
    version: int = CONFIG_VERSION

    # -- derived --------------------------------------------------------------------------
    @property
    def session_path(self) -> Path:
        return Path(self.session_dir).expanduser() if self.session_dir else default_session_dir()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def pipeline_config(self):
        """The :class:`PipelineConfig` these settings describe (other fields keep their defaults)."""
        from realtime_ser.dsp.vad import VADConfig
        from realtime_ser.pipeline.processor import PipelineConfig

        return PipelineConfig(
            vad=VADConfig(threshold_db=self.vad_threshold_db, max_utterance_s=self.max_utterance_s),
            partial_interval_s=self.partial_interval_s,
            confidence_threshold=self.confidence_threshold,
            smoothing=self.smoothing,
        )

    def validate(self, source: str = "settings") -> "Settings":
        """Raise ConfigError for the first invalid field; return self."""
        for name, check in _CHECKS.items():
            problem = check(getattr(self, name))
            if problem:
                raise ConfigError(f"{source}: setting '{name}' {problem}, not {getattr(self, name)!r}")
        return self


# --- validation: each check returns None when fine, else what the value must be ---------------


def _number(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    what = f"must be a number {'>' if lo_open else '>='} {lo:g} and {'<' if hi_open else '<='} {hi:g}"

    def check(v):
        if not is_finite_number(v):
            return what
        if (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
            return what
        return None

    return check


def _optional_str(what: str):
    def check(v):
        return None if v is None or (isinstance(v, str) and v.strip()) else f"must be {what} or null"

    return check


def _device(v):
    if v is None or (isinstance(v, str) and v.strip()):
        return None
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return None
    return "must be a device name, a device number or null"


def _bool(v):
    return None if isinstance(v, bool) else "must be true or false"


def _version(v):
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else "must be a positive integer"


#: Allowed ranges of the numeric settings: (low, high, high excluded). The GUI's Preferences
#: dialog takes its limits from here too, so it cannot write a file that would be refused.
NUMBER_RANGES = {
    "vad_threshold_db": (0.0, 60.0, False),
    "confidence_threshold": (0.0, 1.0, False),
    "smoothing": (0.0, 1.0, True),
    "partial_interval_s": (0.1, 5.0, False),
    "max_utterance_s": (1.0, 60.0, False),
}

_CHECKS = {
    "device": _device,
    **{name: _number(lo, hi, hi_open=hi_open) for name, (lo, hi, hi_open) in NUMBER_RANGES.items()},
    "model_path": _optional_str("a file path"),
    "record_sessions": _bool,
    "session_dir": _optional_str("a folder path"),
    "version": _version,
}


def check_setting(name: str, value) -> str | None:
    """None when ``value`` is allowed for setting ``name``, else what it must be (for messages)."""
    return _CHECKS[name](value)
_NULLABLE = {"device", "model_path", "session_dir"}


# --- load / save -------------------------------------------------------------------------------


def load_with_warnings(path: str | os.PathLike | None = None, strict: bool = True,
                       unused: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Like :func:`load`, but return the warnings as one-line strings instead of issuing them.

    ``unused`` maps the settings this run does not use to why (``{"vad_threshold_db":
    "--threshold-db overrides it", "device": "analyze does not use it"}``): a bad value there is a
    warning ending with that reason, and the default, even when ``strict``; it must not stop a run
    that does not use it.
    """
    unused = unused or {}
    explicit = path is not None
    p = Path(path) if explicit else default_config_path()
    try:
        mode = p.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        if explicit:
            raise ConfigError(f"{p}: config file not found") from None
        return Settings(), []
    except OSError as exc:  # a name too long, a symlink loop: Path.exists() raises for these
        reason = "a symlink loop" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise ConfigError(f"{p}: cannot read config file ({reason})") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{p}: is a directory, not a config file")
    if not stat.S_ISREG(mode):  # a FIFO with no writer would be waited on for ever, /dev/zero read for ever
        raise ConfigError(f"{p}: is {_kind(mode)}, not a config file")
    data = read_json(p, "config file", MAX_CONFIG_BYTES, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: config must be a JSON object {{...}}, not {type(data).__name__}")

    found: list[str] = []
    values = {}
    for key, value in data.items():
        if key not in _CHECKS:
            hint = difflib.get_close_matches(str(key), list(_CHECKS), n=1)
            found.append(
                f"{p}: unknown setting {key!r} ignored" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
            continue
        if value is None and key not in _NULLABLE:
            found.append(f"{p}: setting '{key}' is null; using the default")
            continue
        problem = _CHECKS[key](value)
        if problem:
            message = f"{p}: setting '{key}' {problem}, not {json.dumps(value)[:60]}"
            if key in unused:
                found.append(f"{message}; {unused[key]}")
                continue
            if strict:
                raise ConfigError(message)
            found.append(message + "; using the default")
            continue
        values[key] = float(value) if isinstance(_field_default(key), float) else value
    if values.get("version", CONFIG_VERSION) > CONFIG_VERSION:
        found.append(f"{p}: written by a newer realtime-ser (version {values['version']}); some settings may be ignored")
    values["version"] = CONFIG_VERSION
    return Settings(**values), found


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _field_default(name: str):
    return {f.name: f.default for f in dataclasses.fields(Settings)}[name]


def load(path: str | os.PathLike | None = None, strict: bool = True) -> Settings:
    """Read settings from ``path`` (default: the platform config file; missing -> defaults).

    Raises ConfigError (one line, naming file and key) for a malformed file or,
    when ``strict``, a bad value; issues :class:`ConfigWarning` for what it ignores.
    """
    settings, found = load_with_warnings(path, strict)
    for message in found:
        warnings.warn(message, ConfigWarning, stacklevel=2)
    return settings


def save(settings: Settings, path: str | os.PathLike | None = None, changed_from: Settings | None = None) -> Path:
    """Validate and write ``settings`` atomically; return the file written.

    With ``changed_from`` (the settings as they were loaded), only the values that differ from it are
    written into the file as it is now: what else it holds stays, word for word (a key for a newer
    version, a value the program replaced with its default for now, the command line's settings the
    app does not show).  A file that is not a JSON object is not replaced: that would lose what it holds.
    """
    p = Path(path) if path is not None else default_config_path()
    settings.validate(str(p))
    data = settings.to_dict()
    if changed_from is not None:
        current = _current_file(p)
        if current is not None:
            before = changed_from.to_dict()
            data = dict(current, **{key: value for key, value in data.items() if value != before.get(key)})
            data.setdefault("version", CONFIG_VERSION)
    text = json.dumps(data, indent=2) + "\n"
    if p.parent.exists() and not p.parent.is_dir():
        raise ConfigError(f"{p}: cannot save settings ({p.parent} is not a folder)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(p, text)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot save settings ({exc.strerror})") from None
    return p


def _current_file(p: Path) -> dict | None:
    """The settings file's JSON object as it is now, None if there is none; ConfigError if it cannot be
    read as one (it is then left as it is)."""
    try:
        if not p.exists():
            return None
        data = read_json(p, "config file", MAX_CONFIG_BYTES, ConfigError)
    except ConfigError as exc:
        raise ConfigError(f"cannot save settings: {exc}; fix or remove it first, as saving over it would lose "
                          "what it holds") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot save settings ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: cannot save settings: the file is not a JSON object {{...}}; fix or remove it first")
    return data
