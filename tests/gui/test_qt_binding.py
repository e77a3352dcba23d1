"""The installed Qt binding must not leak references to None.

PySide6 6.12.0 drops a reference to None on every wrapped call under
Python < 3.12 (None is not immortal there), so any Qt program aborts with
"Fatal Python error: none_dealloc" after a few minutes; pyproject.toml excludes
it.  This guards against an environment that brings it back.
"""

import sys

from PySide6.QtWidgets import QLabel


def test_wrapped_calls_keep_none_refcount(qtbot):
    label = QLabel("x")
    qtbot.addWidget(label)
    label.show()
    before = sys.getrefcount(None)
    for i in range(2000):
        label.setText(str(i))
        label.repaint()
    after = sys.getrefcount(None)
    assert after - before > -100, f"None lost {before - after} references in 4000 Qt calls"
