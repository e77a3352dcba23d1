"""User settings: defaults, round trip, and clear messages for every kind of bad file."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

from realtime_ser import config
from realtime_ser.config import ConfigWarning, Settings, load, load_with_warnings, save
from realtime_ser.errors import ConfigError
from realtime_ser.pipeline.processor import PipelineConfig


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("REALTIME_SER_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_missing_default_file_gives_defaults_matching_the_pipeline():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = load()
    assert settings == Settings()
    pc = settings.pipeline_config()
    default = PipelineConfig()
    assert pc.vad.threshold_db == default.vad.threshold_db
    assert pc.confidence_threshold == default.confidence_threshold
    assert pc.smoothing == default.smoothing
    assert pc.partial_interval_s == default.partial_interval_s
    assert settings.session_path.name == "sessions"


def test_save_and_load_round_trip(config_home, tmp_path):
    s = Settings(device="USB Mic", vad_threshold_db=9, confidence_threshold=0.55, smoothing=0.0,
                 record_sessions=True, session_dir=str(tmp_path / "rec"))
    path = save(s)
    assert path == config_home / "config.json" and [f.name for f in config_home.iterdir()] == ["config.json"]
    loaded = load()
    assert loaded == s and isinstance(loaded.vad_threshold_db, float)
    assert loaded.session_path == tmp_path / "rec"
    assert loaded.pipeline_config().vad.threshold_db == 9.0
    # A device number is valid too.
    save(Settings(device=3))
    assert load().device == 3


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"vad_threshold_db": "loud"}', r"setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\""),
        ('{"confidence_threshold": 1.5}', r"'confidence_threshold' must be a number >= 0 and <= 1, not 1.5"),
        ('{"smoothing": 1}', r"'smoothing' must be a number >= 0 and < 1"),
        ('{"record_sessions": "yes"}', r"'record_sessions' must be true or false"),
        ('{"device": 2.5}', r"'device' must be a device name, a device number or null"),
        ('{"device": true}', r"'device' must be a device name"),
        ('{"session_dir": ""}', r"'session_dir' must be a folder path or null"),
        ('{"vad_threshold_db": NaN}', r"'vad_threshold_db' must be a number"),
        ('{"vad_threshold_db": 12,}', r"not valid JSON \(Expecting property name enclosed in double quotes at line 1, column 25\)"),
        ('[1, 2]', r"config must be a JSON object \{\.\.\.\}, not list"),
        ('\xff\xfe', r"not UTF-8 text"),
    ],
)
def test_bad_values_are_one_line_errors_naming_file_and_key(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ConfigError, match=expected) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_lenient_mode_warns_and_falls_back_per_key(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"vad_threshold_db": "loud", "smoothing": 0.5}))
    settings, found = load_with_warnings(path, strict=False)
    assert settings.vad_threshold_db == Settings().vad_threshold_db and settings.smoothing == 0.5
    assert found == [f"{path}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\"; using the default"]


def test_a_bad_setting_an_option_replaces_is_a_warning_and_any_other_still_an_error(tmp_path):
    """The command line's --threshold-db makes the file's vad_threshold_db irrelevant for the run."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"vad_threshold_db": "loud", "smoothing": 0.5}))
    settings, found = load_with_warnings(path, unused={"vad_threshold_db": "--threshold-db overrides it"})
    assert settings == Settings(smoothing=0.5)
    assert found == [f"{path}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not \"loud\"; "
                     "--threshold-db overrides it"]
    path.write_text(json.dumps({"vad_threshold_db": "loud", "confidence_threshold": 3}))
    with pytest.raises(ConfigError, match=r"c.json: setting 'confidence_threshold' must be a number .*, not 3$"):
        load_with_warnings(path, unused={"vad_threshold_db": "--threshold-db overrides it"})


def test_unknown_keys_and_nulls_warn_and_use_defaults(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"vad_treshold_db": 3, "colour": "red", "smoothing": None, "device": None,
                                "confidence_threshold": 0.6}))
    with pytest.warns(ConfigWarning) as record:
        settings = load(path)
    messages = [str(w.message) for w in record]
    assert f"{path}: unknown setting 'vad_treshold_db' ignored (did you mean 'vad_threshold_db'?)" in messages
    assert f"{path}: unknown setting 'colour' ignored" in messages
    assert f"{path}: setting 'smoothing' is null; using the default" in messages
    assert len(messages) == 3
    assert settings == Settings(confidence_threshold=0.6)


def test_newer_version_warns(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": 7}))
    settings, found = load_with_warnings(path)
    assert settings.version == config.CONFIG_VERSION
    assert found and "newer realtime-ser" in found[0]


def test_explicit_missing_file_directory_and_unwritable_target(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"config.json: cannot save settings \(.*file is not a folder\)"):
        save(Settings(), blocker / "config.json")
    with pytest.raises(ConfigError, match="'confidence_threshold' must be a number"):
        save(Settings(confidence_threshold=2.0), tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


from hypothesis import HealthCheck, given, settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=24), c, max_size=4),
    max_leaves=12,
)


@hsettings(max_examples=200, deadline=None, derandomize=True, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=200),
        _json.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(st.sampled_from(sorted(Settings().to_dict()) + ["junk"]), _json, max_size=6).map(
            lambda d: json.dumps(d).encode()
        ),
    ),
    strict=st.booleans(),
)
def test_fuzzed_config_files_give_settings_or_one_line_config_errors(tmp_path, content, strict):
    path = tmp_path / "fuzz.json"
    path.write_bytes(content)
    try:
        settings, found = load_with_warnings(path, strict=strict)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return
    settings.validate()  # whatever was accepted is valid
    assert all(m.startswith(str(path)) and "\n" not in m for m in found)


def test_a_config_file_that_is_not_a_regular_file_is_refused_not_waited_on(tmp_path):
    """--config naming a FIFO with no writer hung for ever (and /dev/zero would be read for ever): anything
    but a regular file is one line, as a manifest.json that is a FIFO already was."""
    import os
    import subprocess

    from tests.conftest import run_cli

    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a named pipe"), ("/dev/zero", "a device")):
        for args in (["analyze", "nothing.wav"], ["sessions"]):
            try:
                r = run_cli(*args, "--config", str(path), timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{args[0]} --config {path} waited on it")
            assert (r.returncode, r.stdout) == (1, "") and r.stderr.splitlines() == [
                f"realtime-ser: error: {path}: is {kind}, not a config file"], r.stderr
    with pytest.raises(ConfigError, match="is a named pipe, not a config file"):
        load_with_warnings(fifo)


def test_saving_changes_writes_only_what_changed_and_keeps_the_rest_of_the_file(tmp_path):
    """Saving Preferences wrote the whole in-memory settings over the file: a value the app had replaced with
    its default (a bad one), a key it did not know, and the command line's settings were lost."""
    path = tmp_path / "config.json"
    original = {"model_path": "/models/mine.tflite", "device": "USB", "vad_threshold_db": 9,
                "smoothing": 7, "from_a_newer_version": [1, 2], "confidence_threshold": 0.4}
    path.write_text(json.dumps(original))
    loaded, found = load_with_warnings(path, strict=False)
    assert loaded.smoothing == Settings().smoothing and len(found) == 2  # the bad value, the unknown key
    changed = dataclasses.replace(loaded, confidence_threshold=0.55)
    save(changed, path, changed_from=loaded)
    assert json.loads(path.read_text()) == dict(original, confidence_threshold=0.55, version=config.CONFIG_VERSION)
    save(changed, path)  # without changed_from: the whole settings, as before
    assert json.loads(path.read_text()) == changed.to_dict()


@pytest.mark.parametrize("text", ['{"device": "USB",}', "[1, 2]", "\xff\xfe"])
def test_a_file_that_is_not_a_settings_object_is_not_saved_over(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match="cannot save settings: .*fix or remove it first") as info:
        save(dataclasses.replace(Settings(), confidence_threshold=0.55), path, changed_from=Settings())
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == text.encode("latin-1")
