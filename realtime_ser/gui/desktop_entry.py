"""The app's entry in a Linux desktop's application menu (freedesktop.org desktop entry + icon).

Qt-free. ``realtime-ser-gui --install-desktop-entry`` writes
``$XDG_DATA_HOME/applications/realtime-ser.desktop`` (``~/.local/share`` by default) and the icon
into the user's hicolor theme, pointing at the interpreter that runs it, so the menu starts
the same installation (a checkout's ``.venv`` or a pip install). Nothing outside the user's
data folder is touched; ``--uninstall-desktop-entry`` removes both files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from realtime_ser.atomic_file import write_text_atomic

APP_ID = "realtime-ser"
#: The app's icon (also the window icon).
ICON_PATH = Path(__file__).resolve().parent / "icon.svg"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def entry_paths(home: Path | None = None) -> tuple[Path, Path]:
    """Where the desktop entry and its icon go."""
    home = home if home is not None else data_home()
    return (home / "applications" / f"{APP_ID}.desktop",
            home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")


def launch_command() -> list[str]:
    """How the menu starts this installation: its realtime-ser-gui script, else ``python -m``."""
    script = Path(sys.executable).parent / "realtime-ser-gui"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "realtime_ser.gui"]


def _exec_quote(arg: str) -> str:
    """One Exec argument, as the desktop entry specification asks.

    Reserved characters need double quotes, inside which ``"`$\\`` take a backslash; ``%`` is
    doubled (field codes); then every backslash is doubled again, because the file's string
    escapes are undone before the quoting is read.
    """
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`='):
        return arg
    quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return quoted.replace("\\", "\\\\")


def entry_text(command: list[str]) -> str:
    """The desktop entry, launching ``command``."""
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=realtime-ser",
        "GenericName=Speech emotion monitor",
        "Comment=Shows live which emotion speech carries (offline, on this computer)",
        "Exec=" + " ".join(_exec_quote(a) for a in command),
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;",
        "Keywords=speech;emotion;microphone;audio;recognition;",
        "",
    ])


def install(home: Path | None = None) -> Path:
    """Write the entry and the icon; return the entry's path (OSError on failure)."""
    entry, icon = entry_paths(home)
    entry.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(icon, ICON_PATH.read_text(encoding="utf-8"))
    write_text_atomic(entry, entry_text(launch_command()))
    return entry


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove the entry and the icon; return what was removed."""
    removed = []
    for path in entry_paths(home):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
