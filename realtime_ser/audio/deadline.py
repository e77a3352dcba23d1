"""Calls into the sound system that a hung audio server would block forever, given a deadline.

A stopped or wedged PulseAudio/PipeWire server accepts connections and never answers. PortAudio's
initialisation (through ALSA's ``pulse`` plugin) and libpulse then wait for ever, and the program
hung without a word. Such calls run on a helper thread here; the caller waits at most ``seconds``
and gets :class:`NoAnswer`. A thread blocked in C cannot be cancelled, so the helper is a daemon
and, while it is still blocked, later calls under the same ``key`` fail at once instead of piling
up threads (or waiting on the import lock the blocked one holds).
"""

from __future__ import annotations

import os
import threading
from typing import Callable, TypeVar

from realtime_ser.errors import DeviceError
from realtime_ser.value_checks import Range

T = TypeVar("T")

#: Where a user whose audio server is slow to answer but not hung (a remote server, a Bluetooth
#: headset waking up) gives it longer; tests give a stopped server less.
TIMEOUT_VARIABLE = "REALTIME_SER_AUDIO_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
_TIMEOUT_RANGE = Range(0.0, 600.0, lo_open=True)

#: A helper thread per key that missed its deadline and may still be blocked.
_blocked: dict[str, threading.Thread] = {}
_blocked_lock = threading.Lock()


def audio_server_timeout_s() -> float:
    """How long a call that waits on the audio server may take before the server counts as hung:
    ``$REALTIME_SER_AUDIO_TIMEOUT`` seconds, else 10. A bad value is a one-line DeviceError."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    problem = _TIMEOUT_RANGE.problem(seconds)
    if problem:
        raise DeviceError(f"{TIMEOUT_VARIABLE} {problem.replace('number', 'number of seconds')}, not {text!r}")
    return seconds


class NoAnswer(Exception):
    """The call did not return within its deadline (or an earlier one under its key is still blocked)."""


def still_blocked(key: str) -> bool:
    """Whether an earlier call under ``key`` missed its deadline and has not returned since."""
    with _blocked_lock:
        thread = _blocked.get(key)
        if thread is not None and not thread.is_alive():
            del _blocked[key]
            thread = None
        return thread is not None


def call_with_deadline(fn: Callable[[], T], seconds: float, key: str) -> T:
    """``fn()``'s result or exception, or NoAnswer after ``seconds`` (``fn`` goes on in the background)."""
    if still_blocked(key):
        raise NoAnswer(key)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"deadline-{key}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with _blocked_lock:
            _blocked[key] = thread
        raise NoAnswer(key)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
