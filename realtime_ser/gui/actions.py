"""The window's commands as actions (shared by the toolbar, the menus and the shortcuts), and menus of them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QWidget


def window_action(window: QWidget, text: str, shortcut, slot: Callable, tip: str,
                  icon: QStyle.StandardPixmap | None = None, checkable: bool = False) -> QAction:
    """An action of ``window`` whose shortcut works anywhere in it and is named in its tooltip.

    ``slot`` gets ``toggled(bool)`` for a checkable action, else ``triggered``.
    """
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    action.setCheckable(checkable)
    if checkable:
        action.toggled.connect(slot)
    else:
        action.triggered.connect(slot)
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.addAction(action)
    return action


def fill_menu_bar(bar: QMenuBar, menus: list[tuple[str, list[QAction | QMenu | None]]]) -> None:
    """One menu for each ``(title, items)``; an item is an action, a submenu, or None for a separator."""
    for title, items in menus:
        menu = bar.addMenu(title)
        for item in items:
            if item is None:
                menu.addSeparator()
            elif isinstance(item, QMenu):
                menu.addMenu(item)
            else:
                menu.addAction(item)
