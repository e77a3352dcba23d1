"""The app's log file: the package's records on disk, warnings still on stderr, no duplicate handlers."""

import logging

import pytest

from realtime_ser.log_file import LOG_NAME, PACKAGE_LOGGER, start_log_file


@pytest.fixture
def package_logger():
    logger = logging.getLogger(PACKAGE_LOGGER)
    before = list(logger.handlers), logger.level
    yield logger
    for handler in [h for h in logger.handlers if h not in before[0]]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(before[1])


def test_records_go_to_the_file_and_warnings_to_stderr(package_logger, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REALTIME_SER_LOG_DIR", str(tmp_path / "log"))
    path = start_log_file("realtime-ser-test")
    assert path == tmp_path / "log" / LOG_NAME
    worker = logging.getLogger("realtime_ser.pipeline.worker")
    worker.info("a stream opened")
    try:
        1 / 0
    except ZeroDivisionError:
        worker.exception("pipeline worker failed")
    start_log_file("realtime-ser-test")  # started again (a second window, a test): one file handler still
    worker.warning("a device was lost")
    text = path.read_text()
    assert text.count("realtime-ser-test ") == 2 and "a stream opened" in text
    assert "ERROR [MainThread] realtime_ser.pipeline.worker: pipeline worker failed" in text
    assert "ZeroDivisionError: division by zero" in text  # with its traceback
    assert text.count("a device was lost") == 1
    err = capsys.readouterr().err
    assert "realtime-ser: warning: a device was lost" in err and "a stream opened" not in err
    assert err.count("a device was lost") == 1


def test_an_unwritable_log_folder_means_no_file_not_a_crash(package_logger, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("REALTIME_SER_LOG_DIR", str(blocker / "log"))
    assert start_log_file("realtime-ser-test") is None
    assert "realtime-ser: warning: no log file" in capsys.readouterr().err
