"""Training, export, evaluation and benchmark tools for the bundled emotion model.

Only these tools import TensorFlow; the program itself runs on LiteRT alone.

The tools report a user's mistake as the program does: one ``error: ...`` line on stderr and
exit 2 (a :class:`realtime_ser.errors.SerError` caught in ``main``), and a number that makes
no sense, or an unknown option, as a usage error: one ``error:`` line too, saying where the
options are (:func:`argument_parser`; the argparse types below are built like
``realtime_ser.console``'s).
"""

import sys
from collections.abc import Callable
from pathlib import Path

from realtime_ser.console import StdoutCheckingParser, non_negative_whole, number_arg
from realtime_ser.errors import SerError

#: A count that must be at least one (clips, repeats, epochs, variants, workers).
count_arg = number_arg(int, "a whole number", lambda v: v >= 1, "a whole number >= 1")
#: A random seed: numpy refuses a negative one.
seed_arg = non_negative_whole


class ToolParser(StdoutCheckingParser):
    """The tools' argument parser: a usage error is one ``error: ... (see `python -m tools.NAME --help`)``
    line and exit 2, like the tools' other errors, not argparse's usage block above the reason."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def argument_parser(module: str, description: str | None = None) -> ToolParser:
    """The parser of ``tools.<module>``'s command line, named as it is run: ``python -m tools.<module>``."""
    return ToolParser(prog=f"python -m tools.{module}", description=description)


def file_size(size: int) -> str:
    """A model file's size in KiB with its bytes, "458 KiB (468,856 bytes)", in the model card and
    ``bench_model`` alike: sizes in 1024s were labelled KB, and the budget is in KB (1000s), so the
    bytes make a comparison plain."""
    return f"{size / 1024:,.0f} KiB ({size:,} bytes)"


def writable_folder(folder: Path, what: str) -> Path:
    """``folder``, created if need be, once a file could be made in it; else a :class:`SerError` naming
    it.  Called before the work, so an output that cannot be written is not found after an hour of
    training (``what``: what goes there, for the message)."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise SerError(f"{folder}: cannot write the {what} there ({exc.strerror or exc})") from None
    return folder


def require_extra(extra: str, needs: str, modules: tuple[str, ...]) -> None:
    """A :class:`SerError` naming what to install unless each of ``modules`` (of pyproject's ``extra``)
    imports: said before the work, not as a traceback in the middle of it (``make run`` installs the
    program alone). ``needs``: who needs them, for the message."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise SerError(f"{needs} needs {', '.join(missing)}: pip install -e '.[{extra}]' "
                       "(`make test` installs it)")


def require_training_extra() -> None:
    """Before minutes of feature extraction: what training imports later."""
    require_extra("train", "training", ("tensorflow", "tf_keras", "sklearn", "matplotlib"))


def require_benchmark_extra() -> None:
    """Before a benchmark's work: psutil (its memory and CPU figures) comes with the ``test`` extra."""
    require_extra("test", "this benchmark", ("psutil",))


def not_a_command(path: str) -> None:
    """What a library module of the tools does when run by hand (it would exit 0 having done nothing)."""
    raise SystemExit(f"error: tools/{path.rsplit('/', 1)[-1]} is a library module, not a command; "
                     "run python -m tools.build_model or python -m tools.experiment (see their --help)")


def exit_code_of(run: Callable[[], int]) -> int:
    """``run()``'s exit code; a user's mistake it raises (a :class:`SerError`) is one ``error:``
    line on stderr and exit 2."""
    try:
        return run()
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
