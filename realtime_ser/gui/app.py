"""Start-up: command line, QApplication, model, then microphone, a replay or the demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Every matrix this program multiplies is tiny; OpenBLAS worker threads would only spin between
# calls (measured: ~7 % of a core for nothing). Set here, before anything imports numpy, so that
# main.py and the installed realtime-ser-gui command both get it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from realtime_ser import __version__
from realtime_ser.console import StdoutCheckingParser
from realtime_ser.errors import SerError
from realtime_ser.gui.shortcuts import shortcuts_text
from realtime_ser.resources import DEMO_PATH


#: The installed command's name (pyproject's gui-scripts), so that usage lines name what people type,
#: not ``__main__.py`` (``python -m realtime_ser.gui``) or ``main.py``.
PROG = "realtime-ser-gui"


def build_parser() -> argparse.ArgumentParser:
    parser = StdoutCheckingParser(
        prog=PROG,
        description="realtime-ser desktop app: live waveform, spectrogram and speech emotion timeline.",
        epilog=f"Shortcuts: {shortcuts_text()}.",
    )
    parser.add_argument("--device", metavar="NAME|INDEX",
                        help="input device (name, name fragment or index; default: the last one used)")
    parser.add_argument("--replay", metavar="FILE",
                        help="replay an audio file (WAV, FLAC, OGG, MP3, M4A, MP4, WebM, ...) or a saved session folder instead of listening")
    parser.add_argument("--demo", action="store_true", help="replay the bundled demo session (CREMA-D clips)")
    parser.add_argument("--model", metavar="PATH", help="TFLite model file (default: model_path of the settings, else the bundled model)")
    parser.add_argument("--sessions-dir", metavar="DIR",
                        help="where Record session saves session folders (default: session_dir of the settings)")
    parser.add_argument("--config", metavar="FILE",
                        help="settings file, shared with the command line (default: config.json in the platform "
                             "config folder)")
    parser.add_argument("--version", action="version", version=f"realtime-ser {__version__}")
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true",
                       help="add realtime-ser to this user's application menu (Linux desktops) and exit")
    entry.add_argument("--uninstall-desktop-entry", action="store_true",
                       help="remove it from the application menu and exit")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)  # smoke tests
    return parser


def check_qt_binding() -> None:
    """Refuse the one binding release known to crash every Qt program on this Python."""
    import PySide6

    if sys.version_info < (3, 12) and PySide6.__version__.startswith("6.12.0"):
        raise SerError(
            f"PySide6 {PySide6.__version__} crashes on Python {sys.version_info.major}.{sys.version_info.minor} "
            "(None reference bug); install PySide6-Essentials<6.12 (`make run` does)"
        )


def check_display() -> None:
    """Without a display Qt aborts the process with a core dump; say so in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SerError(
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset): start the app on a desktop, "
            "or use the command line: realtime-ser listen | analyze"
        )


def desktop_entry(args) -> int:
    """--install-desktop-entry / --uninstall-desktop-entry: say what was done, in one line."""
    from realtime_ser.gui import desktop_entry as de

    try:
        if args.install_desktop_entry:
            path = de.install()
            print(f"realtime-ser: added to the application menu ({path}, starts {' '.join(de.launch_command())})")
        else:
            removed = de.uninstall()
            print("realtime-ser: removed from the application menu" if removed
                  else "realtime-ser: was not in the application menu")
    except OSError as exc:
        raise SerError(f"cannot change the application menu: {exc.strerror} ({exc.filename})") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # --help > /dev/full: a SerError, as below
        if args.install_desktop_entry or args.uninstall_desktop_entry:
            return desktop_entry(args)
        return _run(args)
    except SerError as exc:
        print(f"realtime-ser: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the window (and its handler) is up
        return 130


def load_user_settings(path: str | None):
    """The settings the command line reads too, and one line per problem found in them.

    A file named with ``--config`` must exist and parse (else a one-line error, as in the CLI);
    the default file's problems, even unreadable JSON, only mean defaults, said in the window.
    """
    from realtime_ser.config import Settings, load_with_warnings

    if path is not None:
        return load_with_warnings(path, strict=False)
    try:
        return load_with_warnings(None, strict=False)
    except SerError as exc:
        return Settings(), [f"{exc}; using the default settings"]


def _close_on_signals(window) -> None:
    """Ctrl-C in the terminal (SIGINT), SIGTERM and a closed terminal (SIGHUP) close the window as
    Quit does, without asking.

    Python runs signal handlers between bytecodes on the main thread, which the
    window's 30 fps timer keeps visiting; Qt's own loop would otherwise sit on them.
    A recording is stopped and kept, and the exit status is 0 (the user asked).
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum, _frame) -> None:
        QTimer.singleShot(0, window.quit_now)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):  # no SIGHUP on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def _run(args) -> int:
    from realtime_ser.config import default_config_path
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH, EmotionModel

    config, problems = load_user_settings(args.config)
    model_path = Path(args.model or config.model_path or DEFAULT_MODEL_PATH)
    try:
        model = EmotionModel.load(model_path)
    except SerError as exc:
        if args.model or not config.model_path:  # asked for on the command line, or the bundled one
            raise
        # A problem in the settings file never stops the app: the bundled model instead, and the banner says so.
        settings_file = args.config or default_config_path()
        problems.append(f"{exc} (model_path in {settings_file}); using the bundled model")
        model_path = Path(DEFAULT_MODEL_PATH)
        model = EmotionModel.load(model_path)
    for problem in problems:
        print(f"realtime-ser: warning: {problem}", file=sys.stderr, flush=True)
    if args.replay:
        from realtime_ser.audio.io import audio_duration
        from realtime_ser.session.format import named_session_folder
        from realtime_ser.session.reader import Session

        replay = Path(args.replay)
        folder = named_session_folder(replay)
        if folder is not None:  # a bad session or file is a one-line error before any window opens
            Session.open(folder)
        else:
            audio_duration(replay)
    elif args.demo and not DEMO_PATH.is_file():
        raise SerError(f"the bundled demo session is missing ({DEMO_PATH}); reinstall realtime-ser")

    check_qt_binding()
    check_display()
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from realtime_ser.gui.desktop_entry import APP_ID, ICON_PATH
    from realtime_ser.gui.error_reporting import ErrorReporter
    from realtime_ser.gui.main_window import MainWindow
    from realtime_ser.config import APP_NAME
    from realtime_ser.gui.settings import GuiSettings
    from realtime_ser.log_file import start_log_file

    log_path = start_log_file("realtime-ser-gui")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)  # Qt ends every window title with it
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland shells match the window to the desktop entry (and its icon)
    app.setWindowIcon(QIcon(str(ICON_PATH)))
    window = MainWindow(
        model,
        str(model_path),
        GuiSettings(),
        demo_path=DEMO_PATH,
        sessions_dir=Path(args.sessions_dir) if args.sessions_dir else None,
        config=config,
        config_path=Path(args.config) if args.config else None,
        log_path=log_path,
    )
    reporter = ErrorReporter(window)  # a bug from here on: logged, and said in the window
    reporter.reported.connect(window.show_internal_error)
    reporter.install()
    window.show()
    if args.replay:
        window.open_recording(args.replay)
    elif args.demo:
        window.play_demo()
    else:
        window.start_microphone(args.device)  # records too with record_sessions (MainWindow does it)
    window.show_settings_problems(problems)
    _close_on_signals(window)
    if args.quit_after:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    try:
        return app.exec()
    finally:  # the window (and the reporter, its child) is going: Python's own hooks report from here on
        reporter.uninstall()


if __name__ == "__main__":
    sys.exit(main())
