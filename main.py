#!/usr/bin/env python3
"""Start the realtime-ser desktop app (`python main.py --help`); installed, `realtime-ser-gui` is the same."""

import sys

from realtime_ser.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
