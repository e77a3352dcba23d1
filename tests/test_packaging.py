"""The wheel is a working program on its own: model, model card and demo session inside.

A user who runs ``pip install .`` or ``pip install git+URL`` gets no repository folders, so the
wheel must carry ``models/ser_int8.tflite`` and ``assets/demo`` (``pyproject.toml`` maps them
into the package) and ``realtime_ser.resources`` must find them there.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

from conftest import REPO

BUNDLED = {"realtime_ser.bundled.models": "models", "realtime_ser.bundled.demo": "assets/demo"}


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_package_list_names_every_package_and_maps_the_bundled_folders():
    setup = pyproject()["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "realtime_ser").rglob("__init__.py")
    }
    assert on_disk and set(setup["packages"]) == on_disk | set(BUNDLED)
    assert setup["package-dir"] == BUNDLED
    for package, files in setup["package-data"].items():
        folder = REPO / BUNDLED.get(package, package.replace(".", "/"))
        for name in files:
            assert list(folder.glob(name)), f"{package}: {name} matches nothing in {folder}"


def test_installed_wheel_finds_its_model_and_demo_outside_the_checkout(tmp_path):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # No build isolation: the build backend comes from the test environment, not the network.
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("realtime_ser-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    bundled = site / "realtime_ser" / "bundled"
    assert (bundled / "models" / "ser_int8.tflite").read_bytes() == (REPO / "models" / "ser_int8.tflite").read_bytes()
    assert (bundled / "models" / "README.md").read_text().startswith("# realtime-ser bundled model")
    assert (bundled / "demo" / "CREDITS.md").exists()
    assert (site / "realtime_ser" / "gui" / "icon.svg").read_bytes() == (REPO / "realtime_ser/gui/icon.svg").read_bytes()

    # Run from elsewhere with the installed copy first on the path (dependencies from this venv).
    env = dict(os.environ, PYTHONPATH=str(site))
    run = dict(capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    where = subprocess.run([sys.executable, "-c", "import realtime_ser.resources as r; "
                            "print(r.__file__); print(r.MODEL_PATH); print(r.DEMO_PATH)"], **run)
    assert where.returncode == 0, where.stderr
    module, model, demo = map(Path, where.stdout.split())
    assert module.is_relative_to(site) and model.is_relative_to(bundled) and demo.is_relative_to(bundled)

    # The CLI's default model, on the wheel's own demo session: the six CREMA-D clips' utterances.
    analyzed = subprocess.run([sys.executable, "-m", "realtime_ser", "analyze", str(demo)], **run)
    assert analyzed.returncode == 0, analyzed.stderr
    rows = list(csv.DictReader(io.StringIO(analyzed.stdout)))
    assert len(rows) >= 6 and all(r["file"] == str(demo) for r in rows)

    # The desktop app's command is installed and replays the wheel's demo session (offscreen; a
    # missing demo would be a one-line error and exit 2).
    gui_command = str(site / "bin" / "realtime-ser-gui")
    usage = subprocess.run([gui_command, "--help"], **run)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: realtime-ser-gui"), usage.stderr
    run["env"] = dict(env, QT_QPA_PLATFORM="offscreen", REALTIME_SER_CONFIG_DIR=str(tmp_path / "config"))
    demo_run = subprocess.run([gui_command, "--demo", "--quit-after", "3"], **run)
    assert demo_run.returncode == 0 and "Traceback" not in demo_run.stderr, demo_run.stderr
