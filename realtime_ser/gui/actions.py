"""The window's commands as actions (shared by the toolbar, the menus and the shortcuts), and menus of them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QWidget

from realtime_ser.gui.icons import named_icon


#: The dynamic property that keeps an action's icon name, so a theme change can redraw it.
ICON_PROPERTY = "themedIcon"


def window_action(window: QWidget, text: str, shortcut, slot: Callable, tip: str,
                  icon: QStyle.StandardPixmap | str | None = None, checkable: bool = False) -> QAction:
    """An action of ``window`` whose shortcut works anywhere in it and is named in its tooltip.

    ``icon`` is a style icon or an ``icons.named_icon`` name.  ``slot`` gets ``toggled(bool)`` for a
    checkable action, else ``triggered``.
    """
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if icon is not None:
        set_action_icon(window, action, icon)
    action.setCheckable(checkable)
    if checkable:
        action.toggled.connect(slot)
    else:
        action.triggered.connect(slot)
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.addAction(action)
    return action


def set_action_icon(window: QWidget, action: QAction, icon: QStyle.StandardPixmap | str) -> None:
    """Give ``action`` the icon ``icon`` in ``window``'s current palette, and remember it by name.
    The same icon again does nothing (Start/Stop's is set on every controls update, twice a second;
    a theme change redraws through :func:`refresh_action_icons`)."""
    name = icon if isinstance(icon, str) else icon.name
    if action.property(ICON_PROPERTY) == name:
        return
    action.setProperty(ICON_PROPERTY, name)
    action.setIcon(named_icon(window, name))


def refresh_action_icons(window: QWidget) -> None:
    """Redraw the icons of ``window``'s actions for its palette (after a light/dark theme change)."""
    for action in window.actions():
        name = action.property(ICON_PROPERTY)
        if name:
            action.setIcon(named_icon(window, name))


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
