#!/usr/bin/env python3
"""Start the realtime-ser desktop app (`python main.py --help`)."""

import sys

from realtime_ser.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
