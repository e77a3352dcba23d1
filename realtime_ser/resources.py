"""Where the bundled model and demo session are, in a checkout and in an installed wheel.

In a source checkout (and an editable install) they are the repository's ``models/`` and
``assets/demo/``, where ``tools.build_model`` writes them. A wheel cannot install top-level
folders, so ``pyproject.toml`` maps those two folders into the package as
``realtime_ser/bundled/models`` and ``realtime_ser/bundled/demo``; ``pip install .`` or a
``pip install git+URL`` then finds them there.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def bundled_file(checkout_relative: str, packaged_relative: str) -> Path:
    """The checkout's file if it exists, else the wheel's copy; the checkout path if neither does.

    Returning the checkout path when both are missing keeps error messages pointing where a
    developer would rebuild the file.
    """
    checkout = _CHECKOUT / checkout_relative
    if checkout.exists():
        return checkout
    packaged = _PACKAGE / "bundled" / packaged_relative
    return packaged if packaged.exists() else checkout


#: The default model, built by ``python -m tools.build_model``.
MODEL_PATH = bundled_file("models/ser_int8.tflite", "models/ser_int8.tflite")
#: The demo session (six CREMA-D clips, see its CREDITS.md) replayed when there is no microphone.
DEMO_PATH = bundled_file("assets/demo/demo-session.flac", "demo/demo-session.flac")
