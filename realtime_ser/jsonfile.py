"""Reading small JSON documents (settings, session manifests) with one-line errors."""

from __future__ import annotations

import json
import math
import stat
import sys
from pathlib import Path

from realtime_ser.errors import SerError


def is_finite_number(value) -> bool:
    """A JSON number that is finite and fits a float: not a bool (JSON's true is Python's 1), not NaN or
    Infinity (which Python's json accepts), not an integer of hundreds of digits (no float holds it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def read_json(path: Path, what: str, max_bytes: int, error: type[SerError]) -> object:
    """Parse ``path`` as UTF-8 JSON; any defect raises ``error`` with a one-line message.

    ``what`` names the document in messages ("config file", "manifest").  The
    size cap keeps a wrong or hostile file from being read into memory.
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would be waited on for ever, a device read for ever
            raise error(f"{path}: {what} is not a regular file")
        size = st.st_size
        if size > max_bytes:
            raise error(f"{path}: {what} is implausibly large ({size} bytes)")
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(f"{path}: {what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        # json's own words, then where: "Unterminated string starting at" reads cut off before a place
        problem = exc.msg.removesuffix(" at")
        raise error(f"{path}: {what} is not valid JSON ({problem} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise error(f"{path}: {what} is not valid JSON (nested too deeply)") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits())
        raise error(f"{path}: {what} holds a number too long to read (more than "
                    f"{sys.get_int_max_str_digits()} digits)") from None
