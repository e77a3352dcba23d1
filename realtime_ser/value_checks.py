"""Range checks of numeric options, said in one line that names the option (pure functions).

The settings file has its own checks (:mod:`realtime_ser.config`, JSON values); these are for
the option objects a Python caller builds (``VADConfig``, ``PipelineConfig``), where a NaN, a
negative time or a string would otherwise fail deep inside the pipeline or, worse, not at all
(a NaN threshold compares false with everything: no result was ever uncertain).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False

    def problem(self, value) -> str | None:
        """None when ``value`` is a finite real number within the range, else what it must be."""
        parts = [f"{'>' if self.lo_open else '>='} {self.lo:g}"] if self.lo > -math.inf else []
        parts += [f"{'<' if self.hi_open else '<='} {self.hi:g}"] if self.hi < math.inf else []
        what = "must be a finite number" + (" " + " and ".join(parts) if parts else "")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return what
        v = float(value)
        if not math.isfinite(v):
            return what
        if (v <= self.lo if self.lo_open else v < self.lo) or (v >= self.hi if self.hi_open else v > self.hi):
            return what
        return None


ANY = Range()
AT_LEAST_0 = Range(0.0)
ABOVE_0 = Range(0.0, lo_open=True)


def check_ranges(obj, ranges: dict[str, Range]) -> None:
    """Raise ValueError naming the first field of ``obj`` outside its range."""
    for name, allowed in ranges.items():
        value = getattr(obj, name)
        problem = allowed.problem(value)
        if problem:
            raise ValueError(f"{type(obj).__name__}.{name} {problem}, not {value!r}")
