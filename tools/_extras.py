"""What some benchmarks need beyond the program's own dependencies, said in one line.

An install made by ``make run`` has the runtime dependencies only; psutil comes with pyproject's
``test`` extra.  Imported at the top of a benchmark, a missing one was a traceback ending in
"No module named 'psutil'" that said nothing of where it comes from.
"""

from __future__ import annotations

import importlib

from realtime_ser.errors import SerError

INSTALL_TEST_EXTRA = "pip install -e '.[test]' (make test installs it)"


def need_module(name: str) -> None:
    """Raise a SerError naming what to install unless ``name`` (a module of the ``test`` extra) imports;
    called by a benchmark's ``main`` before its work, which then imports the module where it uses it."""
    try:
        importlib.import_module(name)
    except ImportError:
        raise SerError(f"this benchmark needs {name}: {INSTALL_TEST_EXTRA}") from None
