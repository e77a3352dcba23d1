"""What a screen reader and a keyboard user get: a name for every control, keys to reach them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QComboBox, QWidget

from .conftest import wait_replay_done


def accessible_name(widget: QWidget) -> str:
    """The name Qt's accessibility layer gives ``widget`` (a combo box's is its current item on
    Linux, where the label is a relation; its own accessibleName is what the reader says first)."""
    if isinstance(widget, QComboBox):
        return widget.accessibleName()
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None, type(widget).__name__
    return interface.text(QAccessible.Text.Name)


def test_every_control_that_takes_the_keyboard_has_a_name(make_window, qtbot):
    w = make_window()
    w.play_demo()
    wait_replay_done(qtbot, w)  # the replay bar with its button, slider and Audible box is shown
    focusable = [c for c in w.findChildren(QWidget)
                 if c.isVisible() and c.focusPolicy() != Qt.FocusPolicy.NoFocus]
    names = {type(c).__name__ + ":" + accessible_name(c) for c in focusable}
    assert len(focusable) >= 10, names  # the plots, pickers, sliders and buttons, not an empty list
    unnamed = [type(c).__name__ for c in focusable if not accessible_name(c).strip()]
    assert not unnamed, f"no accessible name: {unnamed}"
    assert accessible_name(w.replay_bar.position) == "Replay position"
    assert accessible_name(w.sensitivity.slider) == "Sensitivity"
    assert w.device_picker.accessibleName() == "Input device"
    assert accessible_name(w.now_panel.bars["sad"]) == "sad probability"
    assert accessible_name(w.waveform).startswith("Waveform")


def test_alt_letters_move_the_keyboard_to_the_input_list_and_the_sensitivity(make_window, qtbot):
    w = make_window()
    w.activateWindow()
    qtbot.waitUntil(lambda: QWidget.isActiveWindow(w))
    qtbot.keyClick(w, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: w.device_picker.hasFocus())
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: w.sensitivity.slider.hasFocus())
    before = w.sensitivity.slider.value()
    qtbot.keyClick(w.sensitivity.slider, Qt.Key.Key_Right)  # and the arrows then move it
    assert w.sensitivity.slider.value() == before + 1
