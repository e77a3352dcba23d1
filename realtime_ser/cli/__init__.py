"""Headless command line: ``realtime-ser devices | listen | analyze | sessions``.

Every SerError becomes one line on stderr and a non-zero exit code, never a
traceback; a UsageError (options that do not fit together) exits 2, as argparse
does, and its line ends as argparse's do, with the command's ``--help`` to see.
``analyze`` keeps going past bad files and exits 1 if any failed, or
if no input held speech (each such input gets a warning line saying why).
``listen`` and ``analyze`` read the user's settings file, as the app does.

One module per command (``devices``, ``listen``, ``analyze``, ``sessions``); ``common`` holds what
they share (messages, settings, the model), ``inputs`` what ``analyze`` reads, ``render`` what it
writes, ``parser`` the options.
"""

from __future__ import annotations

import os

# Every matrix this program multiplies is tiny; OpenBLAS worker threads would only spin
# between calls (the GUI measured ~7 % of a core for nothing). Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from realtime_ser.cli.common import (  # noqa: E402
    EXIT_ERROR, EXIT_USAGE, PROG, UsageError, describe_os_error, interrupted_exit, print_error,
)
from realtime_ser.cli.parser import build_parser  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.native_stderr import native_stderr_hidden_for_process  # noqa: E402

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    command = None
    try:
        args = build_parser().parse_args(argv)  # --help and --version print here, through _print
        command = args.command
        with native_stderr_hidden_for_process():
            return int(args.func(args) or 0)
    except UsageError as exc:  # ends like argparse's usage errors: where the command's options are
        print_error(f"{exc} (see `{PROG} {command} --help`)" if command else str(exc))
        return EXIT_USAGE
    except SerError as exc:
        print_error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt as exc:  # Ctrl-C; SIGTERM or SIGHUP where a command ends on them the same way
        return interrupted_exit(exc)
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        return EXIT_ERROR
    except OSError as exc:  # a file problem no command expected: still one line, not a traceback
        print_error(_os_error_line(exc))
        return EXIT_ERROR


def _os_error_line(exc: OSError) -> str:
    """``PATH: reason`` (or the reason alone) for an OSError that reached the top."""
    reason = describe_os_error(exc)
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason

