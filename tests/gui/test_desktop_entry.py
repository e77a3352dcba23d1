"""The application-menu entry: written where the desktop looks, valid, and starting this installation."""

import os
import re
import subprocess
import sys

import pytest
from PySide6.QtGui import QIcon

from realtime_ser.gui.desktop_entry import ICON_PATH, entry_text

from .conftest import REPO


def run_main(*args, data_home):
    env = dict(os.environ, XDG_DATA_HOME=str(data_home))
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


def validate(path):
    """desktop-file-validate (desktop-file-utils) prints nothing for a valid entry."""
    proc = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def split_exec(value: str) -> list[str]:
    """Split an Exec value by the specification's quoting rule (shlex differs: it keeps ``\\$``)."""
    args, current, quoted, started, i = [], [], False, False, 0
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and value[i + 1: i + 2] in ('"', "`", "$", "\\"):
            current.append(value[i + 1])
            i += 1
        elif c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if current or started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
        i += 1
    assert not quoted, value
    return args + (["".join(current)] if current or started else [])


def exec_args(entry_file) -> list[str]:
    """Read Exec as a desktop does: the file's string escapes first, then the quoting, then %%."""
    (line,) = [l for l in entry_file.read_text().splitlines() if l.startswith("Exec=")]
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    value = re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), line[len("Exec="):])
    return [a.replace("%%", "%") for a in split_exec(value)]


def test_install_writes_a_valid_entry_that_starts_this_installation(tmp_path):
    proc = run_main("--install-desktop-entry", data_home=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    entry = tmp_path / "applications" / "realtime-ser.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "realtime-ser.svg"
    assert str(entry) in proc.stdout
    validate(entry)
    assert icon.read_bytes() == ICON_PATH.read_bytes()
    command = exec_args(entry)
    assert command[0] == str(os.path.join(os.path.dirname(sys.executable), "realtime-ser-gui"))
    started = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert started.returncode == 0 and started.stdout.startswith("realtime-ser "), started.stderr

    proc = run_main("--uninstall-desktop-entry", data_home=tmp_path)
    assert proc.returncode == 0 and "removed" in proc.stdout
    assert not entry.exists() and not icon.exists()
    proc = run_main("--uninstall-desktop-entry", data_home=tmp_path)
    assert proc.returncode == 0 and "was not in the application menu" in proc.stdout


def test_unwritable_data_folder_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_main("--install-desktop-entry", data_home=blocker)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("realtime-ser: error: cannot change the application menu:")


@pytest.mark.parametrize("path", ["/opt/my apps/bin/python3", '/home/a"b/$HOME/50%/py`x`', "/srv/back\\slash/py"])
def test_exec_line_quotes_awkward_paths(tmp_path, path):
    entry = tmp_path / "realtime-ser.desktop"
    entry.write_text(entry_text([path, "-m", "realtime_ser.gui"]))
    validate(entry)
    assert exec_args(entry) == [path, "-m", "realtime_ser.gui"]


def test_icon_renders(qapp):
    assert not QIcon(str(ICON_PATH)).pixmap(64, 64).isNull()  # Qt's SVG plugin reads it
