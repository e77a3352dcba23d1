"""Static check of every Python file: undefined names, unused imports, shadowed or unused variables.

A misspelt or missing name in a rarely used branch (an error path, a GUI slot) would
otherwise only show when a user hits it; pyflakes reads the code without running it.
"""

from __future__ import annotations

from pyflakes.api import checkRecursive
from pyflakes.reporter import Reporter

from tests.conftest import REPO


class _Collect(Reporter):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def unexpectedError(self, filename, msg):  # noqa: N802 (pyflakes' names)
        self.messages.append(f"{filename}: {msg}")

    def syntaxError(self, filename, msg, lineno, offset, text):  # noqa: N802
        self.messages.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message):
        self.messages.append(str(message))


def test_no_pyflakes_warnings_in_the_code():
    paths = [str(REPO / name) for name in ("realtime_ser", "tools", "tests", "main.py")]
    reporter = _Collect()
    checkRecursive(paths, reporter)
    assert reporter.messages == []
