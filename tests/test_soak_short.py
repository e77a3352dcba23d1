"""The soak tool's CI size: real speech through the paced live path (with a session being
recorded) and through the PulseAudio virtual microphone; nothing lost, memory and latency bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, cli_env


def test_short_soak_passes(tmp_path):
    out = tmp_path / "soak.json"
    model = ["--model", os.environ["REALTIME_SER_TEST_MODEL"]] if os.environ.get("REALTIME_SER_TEST_MODEL") else []
    temp = tmp_path / "t"  # its own temp folder, to see that it leaves nothing behind there
    temp.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "tools.soak", "--short", "--json", str(out), *model],
        cwd=REPO, env={**cli_env(), "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list(temp.iterdir()) == []  # the virtual microphone's daemon folder too (each run left one)
    result = json.loads(out.read_text())
    assert result["failures"] == []
    replay, mic = result["replay"], result["virtual_mic"]
    assert replay["audio_hours"] >= 0.06
    assert replay["utterances_in"] >= 40 and replay["lost"] == 0
    assert replay["utterances_out"] >= replay["utterances_in"]
    assert replay["rss_growth_mb"] <= 20
    assert replay["session"]["status"] == "complete" and replay["session"]["warnings"] == []
    assert abs(replay["session"]["duration_s"] - replay["session"]["stream_s"]) <= 0.05
    assert mic["utterances_in"] >= 2 and mic["lost"] == 0 and mic["pipeline_error"] is None
    assert "soak: PASS" in proc.stdout


def test_the_tools_refuse_numbers_they_cannot_run_with_as_usage_errors():
    """A zero, negative, nan or inf speed or length is exit 2 and one error line, not a traceback from
    FileSource or numpy (or a run that never ends)."""
    cases = [
        (["-m", "tools.soak", "--speed", "0"], "argument --speed: must be a number > 0, not 0"),
        (["-m", "tools.soak", "--speed", "nan"], "argument --speed: must be a number > 0, not nan"),
        (["-m", "tools.soak", "--hours", "inf"], "argument --hours: must be a number > 0, not inf"),
        (["-m", "tools.soak", "--program-minutes", "0"], "argument --program-minutes: must be a number > 0, not 0"),
        (["-m", "tools.soak", "--mic-seconds", "-1"], "argument --mic-seconds: must be a number >= 0, not -1"),
        (["-m", "tools.soak", "--seed", "-1"], "argument --seed: must be a whole number >= 0, not -1"),
        (["tools/bench_listen.py", "--speed", "-2"], "argument --speed: must be a number > 0, not -2"),
        (["tools/bench_listen.py", "--minutes", "0"], "argument --minutes: must be a number > 0, not 0"),
    ]
    for args, message in cases:
        proc = subprocess.run([sys.executable, *args], cwd=REPO, env=cli_env(), capture_output=True, text=True,
                              timeout=60)
        errors = proc.stderr.splitlines()
        assert (proc.returncode, proc.stdout) == (2, ""), (args, proc.stderr)
        assert len(errors) == 1 and errors[0].startswith(f"error: {message} (see `"), (args, proc.stderr)
