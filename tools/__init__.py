"""Training, export, evaluation and benchmark tools for the bundled emotion model.

Only these tools import TensorFlow; the program itself runs on LiteRT alone.

The tools report a user's mistake as the program does: one ``error: ...`` line on stderr and
exit 2 (a :class:`realtime_ser.errors.SerError` caught in ``main``), and a number that makes
no sense as a usage error (the argparse types below, built like ``realtime_ser.console``'s).
"""

import sys
from collections.abc import Callable

from realtime_ser.console import non_negative_whole, number_arg
from realtime_ser.errors import SerError

#: A count that must be at least one (clips, repeats, epochs, variants, workers).
count_arg = number_arg(int, "a whole number", lambda v: v >= 1, "a whole number >= 1")
#: A random seed: numpy refuses a negative one.
seed_arg = non_negative_whole


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
