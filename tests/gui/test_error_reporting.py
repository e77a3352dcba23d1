"""A bug in a slot or a thread: logged with its traceback and said in the window, which goes on."""

import logging
import threading

import pytest
from PySide6.QtCore import QTimer

from realtime_ser.gui.error_reporting import LOGGED_REPEATS, ErrorReporter
from realtime_ser.log_file import PACKAGE_LOGGER, start_log_file


@pytest.fixture
def logged(tmp_path, monkeypatch):
    """The log file of this test (the package logger's handlers are restored afterwards)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    before = list(logger.handlers)
    monkeypatch.setenv("REALTIME_SER_LOG_DIR", str(tmp_path / "log"))
    yield start_log_file("realtime-ser-gui")
    for handler in [h for h in logger.handlers if h not in before]:
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def reporting_window(make_window, logged):
    window = make_window(log_path=logged)
    reporter = ErrorReporter(window)
    reporter.reported.connect(window.show_internal_error)
    reporter.install()
    yield window
    reporter.uninstall()


def broken_slot():
    raise ZeroDivisionError("a bug in a slot")


@pytest.mark.qt_no_exception_capture  # the reporter is what catches it here
def test_an_error_in_a_slot_is_logged_and_shown_and_the_window_goes_on(qtbot, reporting_window, logged):
    window = reporting_window
    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: window.banner.isVisible() and "Internal error" in window.banner.text.text(), timeout=5000)
    text = window.banner.text.text()
    assert "ZeroDivisionError: a bug in a slot" in text and str(logged) in text
    assert "Open log folder" in [b.text() for b in window.banner.buttons if b.isVisibleTo(window.banner)]
    log = logged.read_text()
    assert "unexpected error (a bug)" in log and 'raise ZeroDivisionError("a bug in a slot")' in log
    window.play_demo()  # still working
    qtbot.waitUntil(lambda: window.engine.running, timeout=5000)


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_thread_is_shown_from_the_gui_thread_and_repeats_are_counted(qtbot, reporting_window, logged):
    window = reporting_window

    def broken_worker():
        raise RuntimeError("a bug in a thread")

    for _ in range(LOGGED_REPEATS + 2):
        worker = threading.Thread(target=broken_worker, name="test-worker")
        worker.start()
        worker.join()
    qtbot.waitUntil(lambda: f"({LOGGED_REPEATS + 2} times)" in window.banner.text.text(), timeout=5000)
    assert "RuntimeError: a bug in a thread in thread test-worker" in window.banner.text.text()
    log = logged.read_text()
    assert log.count("unexpected error in thread test-worker (a bug)") == LOGGED_REPEATS  # no flood


def test_the_about_box_names_the_log_file(qtbot, make_window, logged):
    window = make_window(log_path=logged)
    window.show_about()
    assert f"Log file {logged}" in window._about.text().replace("\t", " ").replace("\n", " ")


def test_a_pipeline_stopped_by_a_bug_points_to_the_log_and_can_be_retried(qtbot, make_window, logged):
    from realtime_ser.pipeline.events import INTERNAL_ERROR, StatusEvent

    window = make_window(log_path=logged)
    window.mode = "microphone"  # as while a microphone was listening
    window._handle_event(StatusEvent("error", f"{INTERNAL_ERROR}IndexError: index 3 is out of bounds", 1.0))
    text = window.banner.text.text()
    assert "Internal error" in text and "IndexError: index 3 is out of bounds" in text and str(logged) in text
    buttons = [b.text() for b in window.banner.buttons if b.isVisibleTo(window.banner)]
    assert buttons == ["Retry microphone", "Open log folder"]
    window._handle_event(StatusEvent("error", "audio device 'USB' stopped delivering audio", 2.0))
    text = window.banner.text.text()
    assert "stopped delivering audio" in text and "Internal error" not in text  # a lost device is not a bug
