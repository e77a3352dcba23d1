#!/usr/bin/env python3
"""Regenerate docs/screenshot.png: the real window under Xvfb after replaying the demo session.

    python tools/make_screenshot.py [--out docs/screenshot.png] [--size 1366x768]

The window runs on a private Xvfb display (xcb platform, software rendering),
with settings and data (sessions, the demo file's markers) in a temporary folder, so a user's
own folders are neither read nor written and every run draws the same picture (one marker).
The demo session (assets/demo) is replayed through the real pipeline and model
(unpaced, so it takes seconds), one marker is set at 12 s, then the window is grabbed from the
X server.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools import argument_parser  # noqa: E402
from tools._xvfb import xvfb_display  # noqa: E402


def _size(text: str) -> tuple[int, int]:
    """--size WxH: two whole numbers >= 1 (a usage error otherwise, before Xvfb starts)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size WxH (such as 1366x768): {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"width and height must be >= 1, not {text}")
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("make_screenshot", __doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png",
                        help="the picture to write (default: docs/screenshot.png)")
    parser.add_argument("--size", type=_size, default="1366x768", help="screen and window size, WxH")
    parser.add_argument("--model", default=None, help="model file (default: the bundled one)")
    args = parser.parse_args(argv)
    width, height = args.size
    from realtime_ser.errors import SerError
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH, EmotionModel

    path = args.model or str(DEFAULT_MODEL_PATH)
    try:  # before Xvfb starts: a missing or corrupt model, or an --out folder that cannot be made, is one line
        model = EmotionModel.load(path)
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SerError(f"{args.out}: cannot write the screenshot there ({exc.strerror or exc})") from None
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, xvfb_display(width, height):
        # Config and data both: the marker set below is saved for the demo file, and under the user's
        # data folder it piled up (run N showed markers 1..N) and showed in their `analyze` of the demo.
        os.environ["REALTIME_SER_CONFIG_DIR"] = tmp
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        return _shoot(args.out, width, height, model, path, Path(tmp))


def _shoot(out: Path, width: int, height: int, model, model_path: str, tmp: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from realtime_ser.resources import DEMO_PATH
    from realtime_ser.gui.main_window import MainWindow
    from realtime_ser.gui.settings import GuiSettings
    from realtime_ser.pipeline.smoothing import percent_shown

    app = QApplication([sys.argv[0]])
    app.setApplicationName("realtime-ser")
    window = MainWindow(model, model_path, GuiSettings(tmp / "gui.ini"), demo_path=DEMO_PATH,
                        sessions_dir=tmp / "sessions", file_marks_dir=tmp / "file-marks", realtime_replay=False)
    window.setGeometry(0, 0, width, height)
    window.show()
    window.play_demo()
    deadline = time.monotonic() + 120
    while not (not window.engine.running and window._finished_reported):
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > deadline:
            print("make_screenshot: the replay did not finish in 120 s", file=sys.stderr)
            return 1
    # One marker, as Ctrl+M sets it, so the picture shows what one looks like.
    window.add_marker("a marked moment", at=12.0)
    # Let the last frames paint, then grab what the X server shows.
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    image = app.primaryScreen().grabWindow(window.winId())
    if not image.save(str(out), "PNG"):
        print(f"make_screenshot: cannot write {out}", file=sys.stderr)
        return 1
    finals = window.timeline_model.final_events()
    print(f"wrote {out} ({image.width()}x{image.height()}), {len(finals)} utterances: "
          + ", ".join(f"{e.label} {percent_shown(e.confidence)}" for e in finals))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
