"""Writing to the terminal: results on stdout and argparse's help, where stdout may fail; and
argparse types that refuse a bad number with a usage error.

Shared by both front ends' command lines (and the tools').  A stdout that cannot take what is written
(``> /dev/full``) becomes one :class:`SerError` line, like any other failure; a closed pipe
(``| head -1``) stays a BrokenPipeError, which the callers end quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import unicodedata
from collections.abc import Callable

from realtime_ser.errors import SerError


#: Unicode categories made spaces: control characters (tab, newline, the ESC of an escape sequence,
#: BEL, ...), lone surrogates, and line and paragraph separators. Format characters (Cf) stay: the
#: joiner inside an emoji, a right-to-left mark in an Arabic or Hebrew name.
_NOT_ON_ONE_LINE = {"Cc", "Cs", "Zl", "Zp"}


def printable(text: str) -> str:
    """``text`` with its control characters and line breaks made spaces (nothing else changed): safe
    to print on a terminal. A title or note may come from a hand-edited file or a paste."""
    text = str(text)
    if not any(unicodedata.category(c) in _NOT_ON_ONE_LINE for c in text):
        return text
    return "".join(" " if unicodedata.category(c) in _NOT_ON_ONE_LINE else c for c in text)


def valid_utf8(text: str) -> str:
    """``text`` as UTF-8 to show: a file name that is not UTF-8 (Python holds its bytes as lone
    surrogates) gets U+FFFD for them, as a file browser shows it (error lines; outputs keep the bytes)."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def one_line(text: str) -> str:
    """:func:`printable` ``text`` as (part of) one line: runs of white space one space, trimmed."""
    return " ".join(printable(text).split())


def discard_stdout() -> None:
    """Point fd 1 at /dev/null once stdout failed, so that the interpreter's last flush of what
    is still buffered cannot print a traceback at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def write_stdout(text: str, end: str = "\n") -> None:
    """Write ``text`` to stdout now (results, tables, help)."""
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()
        raise
    except OSError as exc:
        discard_stdout()
        raise SerError(f"cannot write output: {exc.strerror or exc}") from None


class StdoutCheckingParser(argparse.ArgumentParser):
    """argparse's parser with --help and --version written by write_stdout: argparse ignores a
    stdout that fails, so ``--help > /dev/full`` said nothing and exited 0; and usage errors in
    one line.  Subcommands' parsers are this class too.  Parse inside the caller's ``except SerError``."""

    def _print_message(self, message, file=None):
        if message and file is sys.stdout:
            write_stdout(message, end="")
        else:
            super()._print_message(message, file)

    def error(self, message):
        """A usage error as one line, like every other error (``realtime-ser: error: ...``), saying
        where the options are, rather than argparse's usage block followed by the reason; exit 2."""
        program = self.prog.split()[0]  # "realtime-ser" of "realtime-ser analyze"
        self.exit(2, f"{program}: error: {message} (see `{self.prog} --help`)\n")


def number_arg(convert: Callable[[str], float], what: str, ok: Callable[[float], bool], requirement: str):
    """An argparse type: the text converted by ``convert`` and checked by ``ok`` (else a usage error,
    exit 2, rather than a traceback from wherever the value is first used)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, not {text}")
        return value

    return parse


#: A speed, a duration: 0 would divide by zero or end before starting; nan and inf never end.
positive_number = number_arg(float, "a number", lambda v: v > 0 and math.isfinite(v), "a number > 0")
#: A duration or level where 0 means "none" (0 s of a stage: skip it; a 0 dB floor: no floor).
non_negative_number = number_arg(float, "a number", lambda v: v >= 0 and math.isfinite(v), "a number >= 0")
#: A count where 0 means "automatic" or "none" (workers), a random seed (numpy refuses a negative one).
non_negative_whole = number_arg(int, "a whole number", lambda v: v >= 0, "a whole number >= 0")
