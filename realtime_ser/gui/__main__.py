"""``python -m realtime_ser.gui`` starts the desktop app, as ``main.py`` and ``realtime-ser-gui`` do."""

import sys

from realtime_ser.gui.app import main

sys.exit(main())
