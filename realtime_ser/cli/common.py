"""What the commands share: their one-line messages and exit codes, the settings file, the model."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from realtime_ser.atomic_file import check_writable, write_text_atomic
from realtime_ser.console import number_arg, one_line, printable, valid_utf8
from realtime_ser.errors import SerError

PROG = "realtime-ser"
EXIT_ERROR = 1
EXIT_USAGE = 2


def print_error(message: str) -> None:
    print(f"{PROG}: error: {printable(valid_utf8(message))}", file=sys.stderr, flush=True)  # one line, whatever a name holds


def print_warning(message: str) -> None:
    print(f"{PROG}: warning: {printable(valid_utf8(message))}", file=sys.stderr, flush=True)


class UsageError(SerError):
    """Options that do not fit together or a value argparse cannot check alone: exit 2, like argparse."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``kill``, the terminal or ssh connection closed) in a command that ends on it
    as on Ctrl-C: raised where the program is, so that what it made is cleaned up on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def interrupted_exit(exc: KeyboardInterrupt) -> int:
    """Say that the run was interrupted (by which signal, unless Ctrl-C); the exit code, 128 + the signal."""
    signum = getattr(exc, "signum", signal.SIGINT)
    print_error("interrupted" if signum == signal.SIGINT else f"interrupted ({signal.Signals(signum).name})")
    return 128 + signum


@contextmanager
def ending_as_on_ctrl_c():
    """Within: SIGTERM and SIGHUP raise :class:`Terminated`, as Ctrl-C raises KeyboardInterrupt, rather than
    end the process where it stands (a temporary copy of piped audio left behind, worker processes alive)."""
    def terminated(signum, frame):
        raise Terminated(signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, terminated) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def describe_os_error(exc: OSError) -> str:
    """What an OSError says, for a one-line message; a symlink loop is named as one."""
    if exc.errno == errno.ELOOP:
        return "a symlink loop (a symbolic link that leads back to itself)"
    return exc.strerror or str(exc)


def path_problem(path) -> str | None:
    """Why ``path`` cannot even be looked up (a name too long for the file system, a symlink loop, a
    folder on the way that may not be searched), for the end of a one-line message; None when it can
    be, whether or not something is there.  ``Path.is_dir()`` and ``exists()`` raise for these."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return describe_os_error(exc)
    except ValueError:  # a NUL character (a path from a settings file)
        return "not a valid path (it holds a NUL character)"
    return None


def write_output(path: str, text: str | None = None) -> None:
    """Replace the ``--output`` file with ``text``; with None only check that it could be (before
    a long analysis). Either way a problem is the same one line."""
    try:
        if text is None:
            check_writable(path)
        else:
            write_text_atomic(path, text)
    except OSError as exc:
        raise SerError(f"{path}: cannot write output ({exc.strerror or exc})") from None


def with_option_named(message: str) -> str:
    """A no-speech message's advice in this front end's terms: the option that sets the threshold."""
    from realtime_ser.dsp.vad import LOWER_THRESHOLD

    return message.replace(LOWER_THRESHOLD, "a lower --threshold-db")


#: The settings an option replaces for one run, when given: ``(option, setting, given(args))``.
#: A bad value of such a setting in the config file is then a warning, not an error (it is not
#: used).  A bare ``--record`` replaces only the switch; ``--record DIR`` the folder too.  An option
#: a command does not have is never given (analyze has no --device).
SETTING_OVERRIDES = (
    ("--model", "model_path", lambda args: bool(getattr(args, "model", None))),
    ("--threshold-db", "vad_threshold_db", lambda args: getattr(args, "threshold_db", None) is not None),
    ("--confidence", "confidence_threshold", lambda args: getattr(args, "confidence", None) is not None),
    ("--device", "device", lambda args: getattr(args, "device", None) is not None),
    ("--replay", "device", lambda args: bool(getattr(args, "replay", None))),  # no microphone
    ("--record", "record_sessions", lambda args: getattr(args, "record", None) is not None),
    ("--replay", "record_sessions", lambda args: bool(getattr(args, "replay", None))),  # only --record records one
    ("--record DIR", "session_dir", lambda args: bool(getattr(args, "record", None))),
    ("the folder named", "session_dir", lambda args: bool(getattr(args, "folder", None))),  # `sessions DIR`
)


#: The settings each command reads; a bad value of any other is a warning for it, not an error
#: (`analyze` must not fail on a bad default microphone).  `sessions` reads only the folder.
SETTINGS_READ = {
    "listen": None,  # all of them
    "analyze": ("vad_threshold_db", "confidence_threshold", "smoothing", "partial_interval_s",
                "max_utterance_s", "model_path"),
    "sessions": ("session_dir",),
}


def _unused_settings(args) -> dict[str, str]:
    """``{setting: why this run does not use it}``: an option given in ``args`` replaces it, or the
    command does not read it."""
    import dataclasses

    from realtime_ser.config import Settings

    unused: dict[str, str] = {}
    for option, setting, given in SETTING_OVERRIDES:
        if given(args):
            unused.setdefault(setting, f"{option} overrides it")
    command = getattr(args, "command", None)
    read = SETTINGS_READ.get(command)
    if read is not None:
        for field in dataclasses.fields(Settings):
            if field.name not in read:
                unused.setdefault(field.name, f"`{command}` does not use it")
    return unused


def load_settings(args):
    """User settings from the config file (``--config`` or the platform default); warnings to stderr."""
    from realtime_ser.config import load_with_warnings

    path, unused = getattr(args, "config", None), _unused_settings(args)
    if getattr(args, "command", None) == "listen" and getattr(args, "record", None) is None:
        # The session folder is read only if the same file's record_sessions is on (and the input is live,
        # as in the app, where it records every start of the microphone): known once loaded.
        if getattr(args, "replay", None):
            why = "nothing is recorded (a replay is recorded only with --record)"
        else:
            why = "nothing is recorded (no --record, and record_sessions is off)"
        settings, warnings = load_with_warnings(path, unused=dict(unused, session_dir=why))
        if settings.record_sessions and not getattr(args, "replay", None):  # used after all: a bad one stops the run
            settings, warnings = load_with_warnings(path, unused=unused)
    else:
        settings, warnings = load_with_warnings(path, unused=unused)
    for warning in warnings:
        print_warning(warning)
    return settings


def pipeline_config(settings, args):
    """The settings' pipeline configuration with this run's ``--threshold-db`` / ``--confidence``."""
    config = settings.pipeline_config()
    if args.threshold_db is not None:
        config.vad.threshold_db = args.threshold_db
    if args.confidence is not None:
        config.confidence_threshold = args.confidence
    return config


def _setting_value(name: str):
    """An argparse type: a number the setting ``name`` allows (the ranges config.json is held to)."""
    from realtime_ser.config import check_setting

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        problem = check_setting(name, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, not {text}")
        return value

    return parse


def path_arg(text: str) -> str:
    """An argparse type for a path: an empty one ('') is a usage error naming it, not taken for a
    default (--replay '' fell back to the microphone, analyze '' read the current folder)."""
    if text == "":
        raise argparse.ArgumentTypeError("an empty path ('') names no file or folder")
    return text


#: --channel of listen and analyze: a whole number >= 1
channel_number = number_arg(int, "a channel number", lambda v: v >= 1, "a channel number >= 1")
CHANNEL_HELP = ("use this channel alone (1 = left, 2 = right, ...) instead of mixing them all: one side "
                "of a call, one speaker's microphone")


def raw_format(text: str):
    """--raw FORMAT:RATE[:CHANNELS] of ``listen --device -``: the layout of headerless PCM (a usage error otherwise)."""
    from realtime_ser.audio.pipe_source import RawFormat

    try:
        return RawFormat.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_model(args, settings):
    """The model named by --model, else by the settings' model_path, else the bundled one.

    A bad model_path names the settings file it came from: that file, not the command line, is
    what the user has to fix.
    """
    from realtime_ser.config import default_config_path
    from realtime_ser.errors import ModelError
    from realtime_ser.model.emotion_model import EmotionModel

    path = args.model or settings.model_path
    try:
        problem = path_problem(path) if path else None
        if problem:
            raise ModelError(f"{path}: cannot read the model ({problem})")
        return EmotionModel.load(path)
    except SerError as exc:
        if args.model or not settings.model_path:
            raise
        raise ModelError(f"{exc} (model_path in {args.config or default_config_path()})") from None


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Model, VAD threshold, confidence and settings file: the same for listen and analyze."""
    p.add_argument("--model", type=path_arg, metavar="FILE", help="TFLite model (default: model_path of the settings, else "
                                                   "the bundled models/ser_int8.tflite)")
    p.add_argument("--threshold-db", type=_setting_value("vad_threshold_db"), metavar="DB",
                   help="VAD threshold above the noise floor in dB; lower finds quieter speech "
                        "(default: vad_threshold_db of the settings, 12)")
    p.add_argument("--confidence", type=_setting_value("confidence_threshold"), metavar="P",
                   help="below this confidence the label is 'uncertain' (default: confidence_threshold "
                        "of the settings, 0.4)")
    p.add_argument("--config", type=path_arg, metavar="FILE",
                   help="settings file (default: the platform config folder)")


def check_title_length(title: str | None) -> None:
    """A --title longer than a session stores is refused, not cut: the user would not know what was kept."""
    from realtime_ser.session.format import MAX_TITLE_CHARS

    length = len(one_line(title or ""))  # as the session stores it: one line, trimmed
    if length > MAX_TITLE_CHARS:
        raise UsageError(f"--title is {length} characters long; at most {MAX_TITLE_CHARS} are allowed")


#: The formats an --output file's extension names.
FORMAT_EXTENSIONS = ("csv", "json", "jsonl")


def named_format(output: str | None) -> str | None:
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMAT_EXTENSIONS else None
