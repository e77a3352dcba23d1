#!/usr/bin/env python3
"""Start the realtime-ser desktop app (`python main.py --help`)."""

import os
import sys

# Every matrix this program multiplies is tiny; OpenBLAS worker threads would only
# spin between calls (measured: ~7 % of a core for nothing). Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from realtime_ser.gui.app import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
