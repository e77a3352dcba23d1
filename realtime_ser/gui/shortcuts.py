"""The keyboard shortcuts as users are told them (About box, ``main.py --help``); Qt-free.

The actions themselves are defined in ``main_window``; tests/gui/test_about.py checks that
every key listed here is bound there.
"""

SHORTCUTS = [
    ("Space", "start / stop listening"), ("Ctrl+O", "open a recording"),
    ("Ctrl+Shift+O", "recorded sessions"), ("Ctrl+D", "replay the demo session"), ("Ctrl+R", "record session"),
    ("Ctrl+M", "mark the moment"), ("Ctrl+Shift+M", "mark with a note"), ("Ctrl+L", "list of markers"),
    ("Ctrl+E", "export timeline"),
    ("Ctrl+K", "calibrate noise"), ("Ctrl+P", "pause / resume replay"), ("Ctrl+← / →", "seek 5 s"),
    ("End", "timeline follows live again"), ("Ctrl+,", "preferences"), ("F1", "about"), ("Ctrl+Q", "quit"),
]


def shortcuts_text() -> str:
    """One line for a terminal: ``Space start / stop listening, Ctrl+O open a recording, ...``."""
    return ", ".join(f"{key} {what}" for key, what in SHORTCUTS).replace("←", "Left").replace("→", "Right")
