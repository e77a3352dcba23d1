"""``realtime-ser sessions SESSION_FOLDER --title``: renaming a recorded session from the command line,
run as a user would (``python -m realtime_ser``), on real recordings."""

import json

from realtime_ser.session import Session, SessionRecorder
from tests.conftest import cli_env, run_cli
from tests.test_cli import _record_session, assert_one_line_errors


def _manifest(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_title_is_set_shown_and_removed(tmp_path):
    parent = tmp_path / "sessions"
    folder = _record_session(parent, [])
    before = _manifest(folder)

    r = run_cli("sessions", str(folder), "--title", "  P07\tbaseline \n")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    header, line = r.stdout.splitlines()  # that session's row, with its new title
    assert header.split()[5] == "title" and "  P07 baseline  " in line and line.split()[3] == "complete"
    # the columns line up under their headings (the start is given to the second)
    assert line.index(" complete") == header.index(" status") and line.index(" P07") == header.index(" title")
    assert Session.open(folder).title == "P07 baseline"  # stored as the app stores it: one line, trimmed
    assert _manifest(folder) == dict(before, title="P07 baseline")  # nothing else changed

    r = run_cli("sessions", str(parent), "-f", "json")  # and every listing sees it
    assert r.returncode == 0 and [row["title"] for row in json.loads(r.stdout)] == ["P07 baseline"]

    longest = "x" * 200
    r = run_cli("sessions", str(folder), "--title", longest, "-f", "json")
    assert r.returncode == 0 and [row["title"] for row in json.loads(r.stdout)] == [longest]

    r = run_cli("sessions", str(folder), "--title", "")
    assert r.returncode == 0 and r.stderr == ""
    header, line = r.stdout.splitlines()
    assert "title" not in header.split() and "P07" not in line  # no title column once none has one
    assert Session.open(folder).title is None and _manifest(folder) == before


def test_what_cannot_be_renamed_is_refused_in_one_line(tmp_path):
    parent = tmp_path / "sessions"
    folder = _record_session(parent, [])
    plain = tmp_path / "plain"
    plain.mkdir()
    refusals = [  # (arguments, exit status, the error)
        (["--title", "P07"], 2, "--title renames one session: name its folder (sessions SESSION_FOLDER --title TEXT)"
                                " (see `realtime-ser sessions --help`)"),
        ([str(folder), "--title", "x" * 201], 2, "--title is 201 characters long; at most 200 are allowed"
                                                 " (see `realtime-ser sessions --help`)"),
        ([str(plain), "--title", "P07"], 1, f"{plain}: not a session folder (no manifest.json)"),
        ([str(parent), "--title", "P07"], 1, f"{parent}: not a session folder (no manifest.json)"),  # the parent
        ([str(tmp_path / "nowhere"), "--title", "P07"], 1, f"{tmp_path / 'nowhere'}: no such folder"),
    ]
    before = _manifest(folder)
    for args, status, message in refusals:
        r = run_cli("sessions", *args)
        assert (r.returncode, r.stdout) == (status, ""), (args, r.stderr)
        assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {message}"], args
    assert _manifest(folder) == before and list(plain.iterdir()) == []

    recorder = SessionRecorder(tmp_path / "live", 16000, "mic")  # this process records it while the CLI tries
    live = recorder.start()
    try:
        r = run_cli("sessions", str(live), "--title", "P07")
        assert (r.returncode, r.stdout) == (1, "")
        assert assert_one_line_errors(r.stderr, 1) == [
            f"realtime-ser: error: {live}: the session is being recorded: it cannot be renamed now"]
    finally:
        recorder.stop()
    assert Session.open(live).title is None


def test_folders_named_like_sessions_without_a_manifest_are_reported_not_passed_over(model_path, tmp_path):
    """A folder the recorder named but whose manifest is missing may hold a recording: listing says so,
    one error line each (stdout stays the good sessions, valid JSON); naming it is its one-line error.
    A folder a recorder is creating right now (its lock held, no manifest yet), an interrupted session
    and a folder of the user's own are no errors."""
    import fcntl

    parent = tmp_path / "sessions"
    good = _record_session(parent, [])
    interrupted = _record_session(parent, [])  # its recorder killed: the manifest still says "recording"
    (interrupted / "manifest.json").write_text(json.dumps(dict(_manifest(interrupted), status="recording")))
    lost = parent / "2026-01-01T10-00-00_session"
    lost.mkdir()
    (lost / "audio.flac").write_bytes((good / "audio.wav").read_bytes()[:4000])
    empty = parent / "2026-01-01T10-00-00_session-2"
    empty.mkdir()
    (parent / "my notes").mkdir()
    starting = parent / "2026-01-01T11-00-00_session"
    starting.mkdir()
    with open(starting / ".recording.lock", "w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a recorder holds it while it writes
        r = run_cli("sessions", str(parent), "-f", "json")
    assert r.returncode == 1  # like an unreadable manifest: the others listed, each lost one an error line
    assert {row["folder"]: row["status"] for row in json.loads(r.stdout)} == {
        str(good): "complete", str(interrupted): "interrupted"}
    assert assert_one_line_errors(r.stderr, 2) == [
        f"realtime-ser: error: {lost}: named like a session but has no manifest.json, so it is not listed "
        "(it holds audio.flac)",
        f"realtime-ser: error: {empty}: named like a session but has no manifest.json, so it is not listed "
        "(it is empty)",
    ]

    for args in (["sessions", str(lost)], ["analyze", str(lost), "--model", model_path]):
        r = run_cli(*args)
        assert (r.returncode, r.stdout) == (1, ""), args
        (error,) = assert_one_line_errors(r.stderr, 1)
        assert error.startswith(f"realtime-ser: error: {lost}: not a session folder (no manifest.json)"), args


def test_a_session_folder_that_is_a_file_is_an_error(tmp_path):
    """The configured session folder being a file is a mistake to say, as ``listen --record`` does,
    not "no sessions recorded yet"."""
    afile = tmp_path / "sessions"
    afile.write_text("not a folder")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"session_dir": str(afile)}))
    r = run_cli("sessions", "--config", str(config))
    assert (r.returncode, r.stdout) == (1, "")
    assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {afile}: is a file, not a folder for sessions"]

    default = tmp_path / "data" / "realtime-ser" / "sessions"  # no setting: the platform's data folder
    default.parent.mkdir(parents=True)
    default.write_text("")
    r = run_cli("sessions", env=cli_env(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "cfg")))
    assert (r.returncode, r.stdout) == (1, "")
    assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {default}: is a file, not a folder for sessions"]


def test_what_reading_a_session_skipped_is_a_warning(tmp_path):
    """Malformed event lines, or no event log at all, are said as ``analyze`` says them; the sessions
    are still listed and it is no error."""
    parent = tmp_path / "sessions"
    bad_lines = _record_session(parent, [])
    with open(bad_lines / "events.jsonl", "a") as f:
        f.write("{not json\n\n[1, 2]\n")
    no_log = _record_session(parent, [])
    (no_log / "events.jsonl").unlink()
    expected = [f"realtime-ser: warning: {w}" for folder in (bad_lines, no_log) for w in Session.open(folder).warnings]
    assert len(expected) == 2
    for args in (["sessions", str(parent)], ["sessions", str(parent), "-f", "json"], ["sessions", str(no_log)]):
        r = run_cli(*args)
        assert r.returncode == 0, args
        warned = expected if args[1] == str(parent) else expected[1:]
        assert_one_line_errors(r.stderr, 0, len(warned))
        assert r.stderr.splitlines() == warned, args
    rows = json.loads(run_cli("sessions", str(parent), "-f", "json").stdout)
    assert len(rows) == 2 and all("warnings" not in row for row in rows)  # JSON keeps its documented keys


def test_a_folder_named_with_a_bad_config_file_warns_as_listen_and_analyze_do(tmp_path):
    """`sessions FOLDER --config FILE` did not read FILE at all: its bad values and misspelt keys went unsaid.
    Now each is one warning line, as for the other commands, and the listing goes on (it uses none of them)."""
    parent = tmp_path / "sessions"
    folder = _record_session(parent, [])
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"smoothing": 7, "record_sessions": "yes", "device": [1], "vad_treshold_db": 3,
                               "session_dir": 5}))
    r = run_cli("sessions", str(parent), "--config", str(cfg), "-f", "json")
    assert r.returncode == 0 and [row["folder"] for row in json.loads(r.stdout)] == [str(folder)], r.stderr
    assert assert_one_line_errors(r.stderr, 0, warnings=5) == []
    assert r.stderr.splitlines() == [f"realtime-ser: warning: {cfg}: {message}" for message in (
        "setting 'smoothing' must be a number >= 0 and < 1, not 7; `sessions` does not use it",
        "setting 'record_sessions' must be true or false, not \"yes\"; `sessions` does not use it",
        "setting 'device' must be a device name, a device number or null, not [1]; `sessions` does not use it",
        "unknown setting 'vad_treshold_db' ignored (did you mean 'vad_threshold_db'?)",
        "setting 'session_dir' must be a folder path or null, not 5; the folder named overrides it")]
    missing = tmp_path / "missing.json"  # named, so looked for, as by the other commands
    r = run_cli("sessions", str(parent), "--config", str(missing))
    assert r.returncode == 1
    assert assert_one_line_errors(r.stderr, 1) == [f"realtime-ser: error: {missing}: config file not found"]


def test_an_integer_too_long_to_read_is_one_line_and_the_other_sessions_are_listed(model_path, tmp_path):
    """JSON with an integer of more digits than Python converts (4300) raised ValueError, a traceback,
    and one such manifest stopped the whole listing; an integer too large for a float in a setting
    raised OverflowError."""
    parent = tmp_path / "sessions"
    good = _record_session(parent, [])
    bad = _record_session(parent, [])
    (bad / "manifest.json").write_text(json.dumps(_manifest(bad))[:-1] + ', "x": ' + "7" * 5000 + "}")
    r = run_cli("sessions", str(parent), "-f", "json")
    assert r.returncode == 1 and [row["folder"] for row in json.loads(r.stdout)] == [str(good)]
    assert assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {bad / 'manifest.json'}: manifest holds a number too long to read (more than 4300 digits)"]

    config = tmp_path / "config.json"
    config.write_text('{"version": ' + "1" * 5000 + "}")
    clip = str(good / "audio.wav")
    r = run_cli("analyze", clip, "--config", str(config), "--model", model_path)
    assert (r.returncode, r.stdout) == (1, "") and assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {config}: config file holds a number too long to read (more than 4300 digits)"]
    config.write_text('{"vad_threshold_db": ' + "1" * 400 + "}")
    r = run_cli("analyze", clip, "--config", str(config), "--model", model_path)
    assert (r.returncode, r.stdout) == (1, "") and assert_one_line_errors(r.stderr, 1) == [
        f"realtime-ser: error: {config}: setting 'vad_threshold_db' must be a number >= 0 and <= 60, not {'1' * 60}"]


def _controls(text: str) -> list[str]:
    """The control characters in printed ``text`` other than its line ends."""
    import unicodedata

    return [c for c in text if unicodedata.category(c)[0] == "C" and c != "\n"]


def test_control_characters_in_titles_and_notes_are_neither_stored_nor_printed(model_path, tmp_path):
    """A title or note holding the ESC of a terminal escape sequence, a BEL or a newline was stored and
    printed raw (escape injection; a newline split the table's row); each is a space now, and what an
    older version or a hand-edited file stored raw is printed safely too."""
    parent = tmp_path / "sessions"
    folder = _record_session(parent, [])
    r = run_cli("sessions", str(folder), "--title", "a\x1b[31mred\x07")
    assert r.returncode == 0 and r.stderr == "" and _controls(r.stdout) == [], repr(r.stdout)
    assert _manifest(folder)["title"] == "a [31mred"

    (folder / "manifest.json").write_text(json.dumps(dict(_manifest(folder), title="one\ntwo\x1b[2J\x9b")))
    with open(folder / "events.jsonl", "a") as log:  # a marker stored as an older version stored it
        log.write(json.dumps({"type": "marker", "marker_id": 7, "time": 1.0, "note": "x\x1b]0;owned\x07y"}) + "\n")
    r = run_cli("sessions", str(parent))
    assert r.returncode == 0 and _controls(r.stdout) == [], repr(r.stdout)
    header, row = r.stdout.splitlines()  # one row: the newline no longer splits it
    assert " one two [2J " in row and row.index(" one") == header.index(" title")
    r = run_cli("sessions", str(parent), "-f", "json")
    assert [s["title"] for s in json.loads(r.stdout)] == ["one two [2J"]

    out = tmp_path / "events.jsonl"
    r = run_cli("listen", "--replay", str(folder), "--speed", "8", "--notes-from-stdin", "-o", str(out),
                "--model", model_path, input="typed\x1b[31m note\x07\n", timeout=60)
    assert r.returncode == 0 and _controls(r.stdout) == [], repr(r.stdout)
    printed = sorted(line.split("] ", 1)[1] for line in r.stdout.splitlines() if "] marker" in line)
    assert printed == ["marker 7: x ]0;owned y", "marker 8: typed [31m note"]
    notes = [e["note"] for e in map(json.loads, out.read_text().splitlines()) if e["type"] == "marker"]
    assert sorted(notes) == ["typed [31m note", "x ]0;owned y"]  # stored without them too
    # what is not a control character stays: the joiners of an emoji family, a right-to-left mark
    family_rtl = "P07 \U0001F468\u200d\U0001F469\u200d\U0001F467 \u200fשלום"
    r = run_cli("sessions", str(folder), "--title", family_rtl + "\u2028second line")
    assert r.returncode == 0 and _manifest(folder)["title"] == family_rtl + " second line"


def test_sessions_are_listed_oldest_first_whatever_their_folders_are_named(tmp_path):
    """Folders renamed by hand ("P07 baseline") were listed in name order, not oldest first."""
    parent = tmp_path / "sessions"
    names = {"2026-01-02T09-00-00": "Ab second", "2026-01-01T09-00-00": "zz first", "2026-01-03T09-00-00": "aa third"}
    for started, name in names.items():
        folder = _record_session(tmp_path / "made", [])
        manifest = dict(_manifest(folder), started=f"{started.replace('-00-00', ':00:00')}+00:00")
        (folder / "manifest.json").write_text(json.dumps(manifest))
        folder.rename(parent / name) if parent.is_dir() else (parent.mkdir(), folder.rename(parent / name))
    r = run_cli("sessions", str(parent), "-f", "json")
    assert r.returncode == 0, r.stderr
    assert [row["folder"].rsplit("/", 1)[1] for row in json.loads(r.stdout)] == ["zz first", "Ab second", "aa third"]
