"""Fixtures for the GUI tests: real Qt widgets offscreen, the real model, real audio.

Qt runs with the offscreen platform (set before anything imports Qt), every
Qt warning fails the test (pytest-qt ``qt_log_level_fail``), and exceptions
raised inside Qt slots fail it too (pytest-qt's default exception capture).
"""

from __future__ import annotations

import os

# A 1920x1080 offscreen screen (the plugin's default is 800x800, smaller than the window).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _screen = os.path.join(os.path.dirname(__file__), "offscreen-1920x1080.json")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("REALTIME_SER_DATA", REPO.parent / "shared" / "data"))
CLIPS = DATA / "crema-d-samples"
DEMO = REPO / "assets" / "demo" / "demo-session.flac"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            # The offscreen plugin cannot size or raise native windows (dialogs, tooltips) nor let
            # a popup menu grab the keyboard; these come from the platform plugin, not the program.
            item.add_marker(pytest.mark.qt_log_ignore(
                r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)"))


# ``model`` and ``model_path`` (the bundled model, loaded once) come from tests/conftest.py.


@pytest.fixture
def settings(tmp_path, monkeypatch):
    from realtime_ser.gui.settings import GuiSettings

    monkeypatch.setenv("REALTIME_SER_CONFIG_DIR", str(tmp_path / "config"))
    return GuiSettings(tmp_path / "config" / "gui.ini")


@pytest.fixture
def make_window(qtbot, model, model_path, settings, tmp_path):
    """Build MainWindows with test settings; closes them (stopping pipelines) afterwards."""
    from realtime_ser.gui.input_devices import default_list_inputs
    from realtime_ser.gui.main_window import MainWindow

    windows = []

    def make(realtime_replay: bool = False, settings_obj=None, resize: bool = True, **kwargs):
        kwargs.setdefault("demo_path", DEMO)
        kwargs.setdefault("sessions_dir", tmp_path / "sessions")
        kwargs.setdefault("file_marks_dir", tmp_path / "file-marks")
        kwargs.setdefault("list_inputs", default_list_inputs)
        w = MainWindow(model, str(model_path), settings_obj or settings, realtime_replay=realtime_replay, **kwargs)
        qtbot.addWidget(w)
        if resize:
            w.resize(1366, 768)
        w.show()
        windows.append(w)
        return w

    yield make
    still_open = []
    for w in windows:
        if not w.close():  # it asked first (a recording going on): a test that leaves one is at fault
            still_open.append(w.windowTitle())
            w.engine.close()  # never leave a microphone running past the test (or its audio server)
    assert not still_open, f"windows the test left recording: {still_open}"


def wait_replay_done(qtbot, window, timeout_ms: int = 30000) -> None:
    """Wait until the replay ended and the GUI drained every queued block and event."""
    qtbot.waitUntil(lambda: not window.engine.running and window._finished_reported, timeout=timeout_ms)
