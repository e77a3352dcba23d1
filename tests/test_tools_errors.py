"""The developer commands under tools/ refuse bad input as the program does: exit non-zero with one
readable line on stderr that names the bad path or value, never a traceback, and never exit 0 having
measured or written nothing.

Every case is a real subprocess (``python -m tools.NAME ...`` or ``python tools/NAME.py ...``) on
small folders made here: no corpus, no training; the bundled model is loaded where a tool needs
it before it notices the bad input.  The cases run a few at a time, once for the module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, cli_env

CREMA_CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


@dataclass(frozen=True)
class Case:
    """``args`` after the interpreter ({tmp} = the folder the fixture fills); the one error line must
    contain every string of ``says``; ``usage``: a usage error (exit 2, pointing at ``--help``)."""

    name: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    usage: bool = False


def case(name: str, args: str, *says: str, usage: bool = False) -> Case:
    return Case(name, tuple(args.split()), says, usage)


def usage(name: str, args: str, option: str, value: str) -> Case:
    return Case(name, tuple(args.split()), (f"error: argument {option}:", value), usage=True)


NOT_A_MODEL = "not a TFLite model file"
NO_CORPUS = "no clips of a known corpus"
NO_RAVDESS = "no RAVDESS clips found"
NOT_AUDIO = "cannot decode audio"
MISSING_DIR = "{tmp}/missing: data directory not found"
CLIP = "03-01-01-01-01-01-01.wav: "

#: The modules under tools/ that are libraries of the commands, not commands (no ``main``).
LIBRARY_MODULES = ("augment", "baseline", "cross_corpus", "dataset", "export", "fitting", "splits", "train",
                   "vad_reference")

CASES = [
    # a data folder that is missing, empty, or holds no corpus
    case("corpora-missing", "-m tools.corpora {tmp}/missing --out {tmp}/out/m", MISSING_DIR),
    case("corpora-empty", "-m tools.corpora {tmp}/empty --out {tmp}/out/m", "{tmp}/empty: " + NO_CORPUS),
    case("corpora-unrelated", "-m tools.corpora {tmp}/junk --out {tmp}/out/m", "{tmp}/junk: " + NO_CORPUS),
    case("build_model-empty", "-m tools.build_model --data {tmp}/empty --cache {tmp}/cache/features",
         "{tmp}/empty: " + NO_CORPUS),
    case("build_model-script-unrelated", "tools/build_model.py --data {tmp}/junk --cache {tmp}/cache/features",
         "{tmp}/junk: " + NO_CORPUS),
    case("build_model-no-training-clips", "-m tools.build_model --data {tmp}/crema --cache {tmp}/cache/features",
         "{tmp}/crema: too few clips to train on"),
    # splits without the speakers a run needs, and a corpus to leave out that cannot be: before any work
    case("build_model-no-validation-speakers", "-m tools.build_model --data {tmp}/savee2 --out {tmp}/out/b "
         "--cache {tmp}/cache/features", "{tmp}/savee2: no val speakers to early-stop on", "--refit"),
    case("build_model-no-test-speakers", "-m tools.build_model --data {tmp}/savee2 --out {tmp}/out/b --refit "
         "--cache {tmp}/cache/features", "{tmp}/savee2: no test speakers to evaluate on", "--no-eval"),
    case("build_model-cross-corpus-typo", "-m tools.build_model --data {tmp}/savee4 --out {tmp}/out/b "
         "--cache {tmp}/cache/features --cross-corpus tesss", "--cross-corpus tesss: no training clips",
         "(corpora trained on there: savee)"),
    case("build_model-cross-corpus-only-one", "-m tools.build_model --data {tmp}/savee4 --out {tmp}/out/b "
         "--cache {tmp}/cache/features --cross-corpus savee", "--cross-corpus savee: the only corpus trained on"),
    case("experiment-holdout-only-one", "-m tools.experiment --name t --data {tmp}/savee4 --holdout savee "
         "--cache {tmp}/cache/features --log {tmp}/out/x.jsonl", "--holdout savee: the only corpus trained on"),
    case("experiment-unrelated", "-m tools.experiment --name t --data {tmp}/junk --cache {tmp}/cache/features "
         "--log {tmp}/out/log.jsonl", "{tmp}/junk: " + NO_CORPUS),
    case("experiment-holdout-not-there", "-m tools.experiment --name t --data {tmp}/corrupt --holdout tes "
         "--cache {tmp}/cache/features --log {tmp}/out/log.jsonl", "--holdout tes", "{tmp}/corrupt"),
    case("bench_latency-missing", "-m tools.bench_latency --data {tmp}/missing", MISSING_DIR),
    case("bench_latency-unrelated", "-m tools.bench_latency --data {tmp}/junk", "{tmp}/junk: " + NO_RAVDESS),
    case("bench_analyze-script-empty", "tools/bench_analyze.py --data {tmp}/empty", "{tmp}/empty: " + NO_RAVDESS),
    case("bench_listen-unrelated", "-m tools.bench_listen --data {tmp}/junk", "{tmp}/junk: " + NO_RAVDESS),
    case("soak-empty", "-m tools.soak --data {tmp}/empty", "{tmp}/empty: no RAVDESS or CREMA-D clips"),
    case("make_demo_assets-empty", "-m tools.make_demo_assets --data {tmp}/empty --out {tmp}/out/demo.flac",
         "{tmp}/empty/crema-d-samples: no clip"),
    # a corpus file that is not audio; clips with no speech (a benchmark that would measure nothing)
    case("bench_latency-corrupt-clip", "-m tools.bench_latency --data {tmp}/corrupt",
         "{tmp}/corrupt/ravdess/Actor_01/03-01-01-01-01-01-01.wav: " + NOT_AUDIO),
    case("bench_analyze-corrupt-clip", "-m tools.bench_analyze --data {tmp}/corrupt", CLIP + NOT_AUDIO),
    case("bench_listen-corrupt-clip", "-m tools.bench_listen --data {tmp}/corrupt", CLIP + NOT_AUDIO),
    case("soak-corrupt-clip", "-m tools.soak --short --data {tmp}/corrupt", CLIP + NOT_AUDIO),
    case("make_demo_assets-corrupt-clip", "-m tools.make_demo_assets --data {tmp}/crema --out {tmp}/out/demo.flac",
         "{tmp}/crema/crema-d-samples/NEU.wav: " + NOT_AUDIO),
    case("bench_latency-no-speech", "-m tools.bench_latency --data {tmp}/silent",
         "{tmp}/silent: none of the 1 RAVDESS clips replayed gave a final result"),
    case("bench_analyze-no-speech", "-m tools.bench_analyze --data {tmp}/silent",
         "{tmp}/silent: none of the 1 RAVDESS clips analysed gave a final result"),
    case("bench_listen-silent-clip", "-m tools.bench_listen --data {tmp}/silent --minutes 0.05",
         "{tmp}/silent: the speech run gave no result (no speech found in 1 RAVDESS clip)"),
    # a model file that is missing or not a model
    case("bench_model-missing", "-m tools.bench_model {tmp}/missing.tflite",
         "{tmp}/missing.tflite: model file not found"),
    case("bench_model-corrupt", "-m tools.bench_model {tmp}/x.tflite", "{tmp}/x.tflite: " + NOT_A_MODEL),
    case("bench_latency-corrupt-model", "-m tools.bench_latency --model {tmp}/x.tflite",
         "{tmp}/x.tflite: " + NOT_A_MODEL),
    case("bench_analyze-missing-model", "-m tools.bench_analyze --model {tmp}/missing.tflite",
         "{tmp}/missing.tflite: model file not found"),
    case("bench_listen-corrupt-model", "tools/bench_listen.py --model {tmp}/x.tflite",
         "{tmp}/x.tflite: " + NOT_A_MODEL),
    case("soak-corrupt-model", "-m tools.soak --model {tmp}/x.tflite", "{tmp}/x.tflite: " + NOT_A_MODEL),
    case("make_screenshot-corrupt-model", "-m tools.make_screenshot --model {tmp}/x.tflite --out {tmp}/out/s.png",
         "{tmp}/x.tflite: " + NOT_A_MODEL),
    case("make_screenshot-missing-model", "tools/make_screenshot.py --model {tmp}/missing.tflite --out {tmp}/out/s.png",
         "{tmp}/missing.tflite: model file not found"),
    # other files and folders: missing or malformed input, an output that cannot be written
    case("build_model-config-missing", "-m tools.build_model --config {tmp}/missing.json --data {tmp}/empty",
         "{tmp}/missing.json: cannot read training config"),
    case("build_model-config-not-json", "-m tools.build_model --config {tmp}/x.tflite --data {tmp}/empty",
         "{tmp}/x.tflite: training config is not valid JSON"),
    case("experiment-config-not-json", "-m tools.experiment --name t --config {bad --data {tmp}/empty",
         "--config '{bad': not valid JSON"),
    case("experiment-config-not-object", "-m tools.experiment --name t --config [1] --data {tmp}/empty",
         "training settings must be a JSON object"),
    case("experiment-config-bad-value", '-m tools.experiment --name t --config {"dropout":1.5} --data {tmp}/empty',
         "training setting dropout: must be below 1, not 1.5"),
    case("build_model-config-bad-type", "-m tools.build_model --config {tmp}/cfg.json --data {tmp}/empty",
         'training setting epochs: must be a whole number, not "many"'),
    # outputs that cannot be written: said before the features and the training, not after
    case("build_model-out-under-a-file", "-m tools.build_model --data {tmp}/empty --out {tmp}/file/models",
         "{tmp}/file/models: cannot write the model and model card there"),
    case("build_model-cache-under-a-file", "-m tools.build_model --data {tmp}/empty --cache {tmp}/file/cache",
         "{tmp}/file/cache: cannot write the feature cache there"),
    case("experiment-log-under-a-file", "-m tools.experiment --name t --data {tmp}/empty --log {tmp}/file/x.jsonl",
         "{tmp}/file: cannot write the experiment log there"),
    case("experiment-log-is-a-folder", "-m tools.experiment --name t --data {tmp}/empty --log {tmp}/empty",
         "{tmp}/empty: cannot append the experiment's result to it"),
    case("evaluate-no-metrics", "-m tools.evaluate --out {tmp}/empty",
         "{tmp}/empty/metrics.json: cannot read metrics file"),
    case("evaluate-metrics-of-no-eval-build", "-m tools.evaluate --out {tmp}/noeval",
         "{tmp}/noeval/metrics.json: not the metrics of an evaluated build"),
    case("evaluate-input-path-without-the-model", "-m tools.evaluate --out {tmp}/nomodel --input-path {tmp}/empty",
         "{tmp}/nomodel/ser_int8.tflite: cannot read the model"),
    case("evaluate-input-path-no-corpus", "-m tools.evaluate --out {tmp}/evaluated --input-path {tmp}/empty",
         "{tmp}/empty: " + NO_CORPUS),
    case("evaluate-input-path-no-test-speakers", "-m tools.evaluate --out {tmp}/evaluated --input-path {tmp}/savee2",
         "{tmp}/savee2: no test speakers to measure on"),
    case("evaluate-live-path-without-the-model", "-m tools.evaluate --out {tmp}/nomodel --live-path {tmp}/empty",
         "{tmp}/nomodel/ser_int8.tflite: cannot read the model"),
    case("evaluate-live-path-no-test-speakers", "-m tools.evaluate --out {tmp}/evaluated --live-path {tmp}/savee2",
         "{tmp}/savee2: no test speakers to measure on"),
    case("corpora-out-under-a-file", "-m tools.corpora {tmp}/crema --out {tmp}/file/m",
         "{tmp}/file/m: cannot write the manifests"),
    case("make_screenshot-out-under-a-file", "-m tools.make_screenshot --out {tmp}/file/s.png",
         "{tmp}/file/s.png: cannot write the screenshot"),
    case("make_demo_assets-out-under-a-file",
         "-m tools.make_demo_assets --data {tmp}/cremagood --out {tmp}/file/d.flac",
         "{tmp}/file/d.flac: cannot write"),
    case("soak-json-folder-missing", "-m tools.soak --json {tmp}/missing/soak.json",
         "{tmp}/missing/soak.json: cannot write the figures"),
    # library modules run as commands: say so instead of exit 0 having done nothing
    case("train-is-no-command", "-m tools.train --data {tmp}/empty", "tools/train.py is a library module"),
    case("export-is-no-command", "-m tools.export", "tools/export.py is a library module"),
    case("baseline-is-no-command", "-m tools.baseline", "tools/baseline.py is a library module"),
    case("cross_corpus-is-no-command", "-m tools.cross_corpus", "tools/cross_corpus.py is a library module"),
    case("vad_reference-is-no-command", "-m tools.vad_reference", "tools/vad_reference.py is a library module"),
    # ... and run by path, where `tools` is not importable until the module makes it so (it was a traceback)
    *(case(f"{module}-script-is-no-command", f"tools/{module}.py", f"error: tools/{module}.py is a library module")
      for module in LIBRARY_MODULES),
    case("corpora-script-missing", "tools/corpora.py {tmp}/missing --out {tmp}/out/m", MISSING_DIR),
    # numbers that make no sense: usage errors, before any work
    usage("bench_model-repeats-0", "-m tools.bench_model --repeats 0", "--repeats", "not 0"),
    usage("bench_latency-clips-0", "-m tools.bench_latency --clips 0", "--clips", "not 0"),
    usage("bench_analyze-clips-negative", "tools/bench_analyze.py --clips -3", "--clips", "not -3"),
    usage("build_model-variants-0", "-m tools.build_model --variants 0", "--variants", "not 0"),
    usage("build_model-epochs-negative", "-m tools.build_model --epochs -1", "--epochs", "not -1"),
    usage("build_model-workers-0", "-m tools.build_model --workers 0", "--workers", "not 0"),
    usage("build_model-seed-negative", "-m tools.build_model --seed -2", "--seed", "not -2"),
    usage("build_model-floor-nan", "-m tools.build_model --floor-db nan", "--floor-db", "not nan"),
    usage("build_model-n-mfcc-too-many", "-m tools.build_model --n-mfcc 41", "--n-mfcc", "not 41"),
    usage("experiment-n-mfcc-0", "-m tools.experiment --name t --n-mfcc 0", "--n-mfcc", "not 0"),
    usage("experiment-variants-0", "-m tools.experiment --name t --variants 0", "--variants", "not 0"),
    usage("experiment-tta-0", "-m tools.experiment --name t --tta 0 1", "--tta", "not 0"),
    usage("bench_gui-seconds-0", "-m tools.bench_gui --seconds 0", "--seconds", "not 0"),
    usage("bench_gui-no-mode", "-m tools.bench_gui --modes ,", "--modes", "no mode"),
    usage("bench_gui-unknown-mode", "-m tools.bench_gui --modes replay,fast", "--modes", "'fast'"),
    usage("make_screenshot-size-text", "-m tools.make_screenshot --size big", "--size", "'big'"),
    usage("make_screenshot-size-0", "-m tools.make_screenshot --size 0x768", "--size", "0x768"),
    # an option the tool does not have, or one it needs left out: the same one line, not argparse's usage block
    *(case(f"{tool}-unknown-option", f"-m tools.{tool} {needed} --bogus", "error: unrecognized arguments: --bogus",
           f"(see `python -m tools.{tool} --help`)", usage=True)
      for tool, needed in (("bench_analyze", ""), ("bench_gui", ""), ("bench_latency", ""), ("bench_listen", ""),
                           ("bench_model", ""), ("build_model", ""), ("corpora", "{tmp}/empty"), ("evaluate", ""),
                           ("experiment", "--name t"), ("make_demo_assets", ""), ("make_screenshot", ""),
                           ("soak", ""))),
    case("corpora-no-data", "-m tools.corpora", "error: the following arguments are required: data", usage=True),
    case("experiment-no-name", "-m tools.experiment", "required: --name", usage=True),
    case("bench_listen-script-unknown-option", "tools/bench_listen.py --bogus",
         "(see `python -m tools.bench_listen --help`)", usage=True),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The bad inputs: an empty folder, one of unrelated files, a corpus file that is not audio, a
    RAVDESS clip of silence, CREMA-D samples that are not audio (and good ones), a text 'model'."""
    tmp = tmp_path_factory.mktemp("tools-errors")
    (tmp / "empty").mkdir()
    (tmp / "junk" / "sub").mkdir(parents=True)
    (tmp / "junk" / "notes.txt").write_text("not a corpus\n")
    (tmp / "junk" / "sub" / "clip.wav").write_text("not audio either\n")
    (tmp / "x.tflite").write_text("not a model\n")
    (tmp / "file").write_text("a file where a folder is expected\n")
    (tmp / "cfg.json").write_text('{"epochs": "many"}\n')
    (tmp / "noeval").mkdir()
    (tmp / "noeval" / "metrics.json").write_text('{"run": {"seed": 1}}\n')  # what build_model --no-eval writes
    for folder, files in (("nomodel", ("metrics.json",)), ("evaluated", ("metrics.json", "ser_int8.tflite"))):
        (tmp / folder).mkdir()
        for name in files:  # an evaluated build's (the bundled one's)
            shutil.copyfile(REPO / "models" / name, tmp / folder / name)
    clip = "ravdess/Actor_01/03-01-01-01-01-01-01.wav"
    (tmp / "corrupt" / clip).parent.mkdir(parents=True)
    (tmp / "corrupt" / clip).write_text("not audio\n")
    (tmp / "silent" / clip).parent.mkdir(parents=True)
    sf.write(tmp / "silent" / clip, np.zeros(8000, np.float32), 16000)
    # SAVEE as distributed (AudioData/<speaker>/a01.wav): two speakers (both trained on), and all four
    for folder, speakers in (("savee2", ("DC", "JE")), ("savee4", ("DC", "JE", "JK", "KL"))):
        for speaker in speakers:
            (tmp / folder / "AudioData" / speaker).mkdir(parents=True)
            for code in ("a01", "d01", "f01", "h01", "n01", "sa01", "su01"):
                sf.write(tmp / folder / "AudioData" / speaker / f"{code}.wav", np.zeros(1600, np.float32), 16000)
    for folder in ("crema", "cremagood"):
        (tmp / folder / "crema-d-samples").mkdir(parents=True)
    t = np.arange(16000) / 16000
    for code in CREMA_CODES:
        (tmp / "crema" / "crema-d-samples" / f"{code}.wav").write_text("not audio\n")
        sf.write(tmp / "cremagood" / "crema-d-samples" / f"{code}.wav", 0.1 * np.sin(2 * np.pi * 220 * t), 16000)
    return tmp


@pytest.fixture(scope="module")
def results(folders) -> dict[str, subprocess.CompletedProcess]:
    """Every case run once, three at a time."""

    def run(c: Case) -> subprocess.CompletedProcess:
        args = [a.replace("{tmp}", str(folders)) for a in c.args]
        return subprocess.run([sys.executable, *args], cwd=REPO, env=cli_env(), capture_output=True, text=True,
                              timeout=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip([c.name for c in CASES], pool.map(run, CASES)))


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_a_tool_refuses_bad_input_with_one_error_line(c: Case, results, folders):
    proc = results[c.name]
    said = f"{c.args}: exit {proc.returncode}\nstderr:\n{proc.stderr}\nstdout:\n{proc.stdout}"
    assert proc.returncode != 0, said
    assert "Traceback" not in proc.stderr, said
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if c.usage:  # a usage error: exit 2, and the line says where the options are
        assert proc.returncode == 2 and proc.stdout == "", said
        assert lines and lines[-1].endswith(" --help`)"), said
    assert len(lines) == 1, said
    for text in c.says:
        assert text.replace("{tmp}", str(folders)) in lines[0], said


def test_the_cases_cover_every_command_under_tools():
    """A new command (a tools module with a main) gets its bad-input cases here too."""
    commands = {p.stem for p in (REPO / "tools").glob("*.py") if "\ndef main(" in p.read_text(encoding="utf-8")}
    covered = {c.name.split("-")[0] for c in CASES}
    assert commands - {"virtual_mic"} <= covered, sorted(commands - covered)


def test_every_library_module_under_tools_is_run_by_path_in_the_cases():
    """A new library module gets its run-by-path case: the README says they all say what they are."""
    libraries = {p.stem for p in (REPO / "tools").glob("*.py")
                 if not p.stem.startswith("_") and "\ndef main(" not in p.read_text(encoding="utf-8")}
    assert libraries == set(LIBRARY_MODULES)


def test_make_screenshot_writes_nothing_into_the_users_folders(tmp_path):
    """The marker it sets on the demo file is saved in its temporary folder: under the user's data
    folder one more piled up on every run (and showed in their own `analyze` of the demo)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in cli_env(HOME=str(home)).items() if not k.startswith("XDG_") or k == "XDG_RUNTIME_DIR"}
    proc = subprocess.run([sys.executable, "tools/make_screenshot.py", "--out", str(tmp_path / "s.png")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s.png").stat().st_size > 0
    # nothing in the app's data, config or log folders (a font cache under ~/.cache, or libpulse's
    # ~/.config/pulse/cookie where an audio server runs, as in CI, are the system's business)
    assert [p for p in home.rglob("*") if p.is_file() and "realtime-ser" in str(p.relative_to(home))] == []
    assert [p for p in home.rglob("*") if p.is_file() and not {".cache", "pulse"} & set(p.parts)] == []


def test_bench_model_refuses_a_damaged_model(tmp_path):
    """One flipped byte still runs (and was benchmarked, exit 0); its SHA-256 sidecar refuses it, as for
    every other tool and `realtime-ser analyze --model`."""
    import shutil

    from realtime_ser.model.checksum import sidecar_path
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH

    damaged = tmp_path / DEFAULT_MODEL_PATH.name
    data = bytearray(DEFAULT_MODEL_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shutil.copyfile(sidecar_path(DEFAULT_MODEL_PATH), sidecar_path(damaged))
    proc = subprocess.run([sys.executable, "-m", "tools.bench_model", str(damaged), "--repeats", "1"], cwd=REPO,
                          env=cli_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr == f"error: {damaged}: model file is damaged (SHA-256 does not match {damaged}.sha256); " \
                          "reinstall, or rebuild it with python -m tools.build_model\n"


#: Run a tool as ``python -m`` does, with the ``test`` extra (and the test suite) not importable, as in an
#: install made by ``make run``.
WITHOUT_TEST_EXTRA = ("import runpy, sys\n"
                      "for name in ('tests', 'pytest', 'pytestqt', 'hypothesis', 'psutil'):\n"
                      "    sys.modules[name] = None  # import fails\n"
                      "sys.argv = sys.argv[1:]\n"
                      "runpy.run_module('tools.' + sys.argv[0], run_name='__main__', alter_sys=True)\n")


@pytest.mark.parametrize("tool", ["bench_analyze", "bench_gui", "bench_latency", "bench_listen", "bench_model",
                                  "soak"])
def test_a_benchmark_runs_without_the_test_extra_or_the_test_suite(tool):
    """The README's benchmarks load in a runtime-only install: bench_latency imported tests.test_vad (and
    so pytest), the others psutil, at the top; a traceback was all it said."""
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TEST_EXTRA, tool, "--help"], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m tools.{tool}"), proc
    # and the help says what each option is, and what it is when left out (--data, --clips, --model,
    # --minutes and --speed were bare names)
    described = help_entries(proc.stdout)
    assert [name for name, text in described.items() if not text] == [], proc.stdout
    for name in BENCHMARK_DEFAULTS.get(tool, ()):
        assert "default: " in described[name], (name, described[name])


#: The options of a benchmark whose --help must say their default.
BENCHMARK_DEFAULTS = {
    "bench_analyze": ("--data", "--clips", "--model"),
    "bench_latency": ("--data", "--clips", "--model"),
    "bench_listen": ("--data", "--minutes", "--speed", "--model"),
    "bench_model": ("models",),
    "soak": ("--hours", "--speed", "--program-minutes", "--mic-seconds", "--data", "--model", "--seed"),
}


def help_entries(text: str) -> dict[str, str]:
    """``{option or positional: its description}`` from argparse's --help (-h left out)."""
    import re

    entries: dict[str, str] = {}
    name = None
    for section in re.split(r"\n(?:positional arguments|options):\n", text)[1:]:
        for line in section.split("\n\n")[0].splitlines():
            head = re.match(r"^  (\S+)(?:[ ,]\S+)*?(?:\s{2,}(\S.*))?$", line)
            if head:
                name = head.group(1)
                entries[name] = head.group(2) or ""
            elif name and line.startswith("    "):
                entries[name] = (entries[name] + " " + line.strip()).strip()
    entries.pop("-h,", None)
    return entries


@pytest.mark.parametrize("tool", ["bench_gui", "bench_listen", "soak"])
def test_a_benchmark_that_needs_psutil_says_what_to_install(tool):
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TEST_EXTRA, tool], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr == ("error: this benchmark needs psutil: pip install -e '.[test]' "
                           "(`make test` installs it)\n")


@pytest.mark.parametrize("args, says", [
    ("soak --short", "error: a private PulseAudio daemon needs pulseaudio, pactl, paplay, not found: "
                     "run tools/install_system_deps.sh"),
    ("bench_gui", "error: a private PulseAudio daemon needs pulseaudio"),
    ("virtual_mic", "error: a private PulseAudio daemon needs pulseaudio"),
    ("bench_gui --modes replay", "error: Xvfb is not installed: run tools/install_system_deps.sh"),
], ids=["soak", "bench_gui-listen", "virtual_mic", "bench_gui-replay"])
def test_a_tool_without_the_system_programs_it_needs_says_so_first(args, says, tmp_path):
    """No PulseAudio (a PipeWire desktop) was an AssertionError traceback, in soak after its hours of replay."""
    env = cli_env(PATH=str(tmp_path))  # an empty folder: no pulseaudio, pactl, paplay, Xvfb
    proc = subprocess.run([sys.executable, "-m", *f"tools.{args}".split()], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and proc.stdout == "", proc
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(says), proc.stderr


@pytest.mark.parametrize("tool", ["build_model", "experiment", "evaluate", "make_demo_assets", "make_screenshot"])
def test_every_option_of_the_other_tools_is_described(tool):
    """build_model's --epochs and --seed, experiment's --data, --cache and six more, and the --out
    of evaluate, make_demo_assets and make_screenshot were bare names in their --help."""
    proc = subprocess.run([sys.executable, "-m", f"tools.{tool}", "--help"], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m tools.{tool}"), proc
    described = help_entries(proc.stdout)
    assert described and [name for name, text in described.items() if not text] == [], proc.stdout
