"""A model's SHA-256 in a sidecar file ``<model>.sha256``, in ``sha256sum`` format.

A model damaged in its weights (a bad copy, a flipped bit on disk) still loads and silently
gives wrong probabilities; only its checksum tells.  ``tools.export`` writes the sidecar with
every model it writes and :meth:`EmotionModel.load` checks it.  A model without a sidecar (a
user's own) loads unchecked.  The name inside the sidecar is for ``sha256sum -c``; what is
checked is the file the sidecar sits beside.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from realtime_ser.atomic_file import write_text_atomic
from realtime_ser.errors import ModelError

SUFFIX = ".sha256"
#: A sidecar is one line; anything much longer is not one (and is not read whole).
_MAX_BYTES = 4096
# sha256sum's line: digest, space, " " (text) or "*" (binary), file name; a leading backslash
# marks a name it escaped.
_LINE = re.compile(r"\\?([0-9a-fA-F]{64}) [ *](.+)")


def sidecar_path(model_path: str | os.PathLike) -> Path:
    path = Path(model_path)
    return path.with_name(path.name + SUFFIX)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_sidecar(model_path: str | os.PathLike, data: bytes) -> Path:
    """Write ``<model>.sha256`` for ``data``, the model file's bytes; returns the sidecar's path."""
    path = Path(model_path)
    sidecar = sidecar_path(path)
    write_text_atomic(sidecar, f"{sha256_hex(data)}  {path.name}\n")
    return sidecar


def read_sidecar(sidecar: str | os.PathLike) -> str:
    """The lower-case hex digest in ``sidecar``; an unreadable or malformed one is a one-line ModelError."""
    sidecar = Path(sidecar)
    try:
        with open(sidecar, "rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ModelError(f"{sidecar}: cannot read the model's checksum ({exc.strerror or exc})") from None
    try:
        lines = raw.decode("utf-8").splitlines() if len(raw) <= _MAX_BYTES else []
    except UnicodeDecodeError:
        lines = []
    match = _LINE.fullmatch(lines[0].rstrip()) if len(lines) == 1 else None
    if match is None:
        raise ModelError(f"{sidecar}: not a model checksum (expected one line: 64 hex digits, "
                         f"two spaces, the file name, as sha256sum writes it)")
    return match.group(1).lower()


def verify(model_path: str | os.PathLike, data: bytes) -> None:
    """Raise ModelError if ``<model>.sha256`` exists and ``data`` (the model's bytes) do not match it."""
    path = Path(model_path)
    sidecar = sidecar_path(path)
    if not os.path.lexists(sidecar):
        return
    if sha256_hex(data) != read_sidecar(sidecar):
        raise ModelError(f"{path}: model file is damaged (SHA-256 does not match {sidecar}); "
                         f"reinstall, or rebuild it with python -m tools.build_model")
