"""``python -m realtime_ser`` is the same as the ``realtime-ser`` command."""

import sys

from realtime_ser.cli import main

sys.exit(main())
