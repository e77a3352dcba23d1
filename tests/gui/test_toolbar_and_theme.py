"""The toolbar in a narrow window, and the icons in a dark theme: real widgets, offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QToolButton

from .conftest import wait_replay_done

TEXT_BESIDE = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
ICON_ONLY = Qt.ToolButtonStyle.ToolButtonIconOnly


def mean_lightness(icon: QIcon, size: int = 24) -> float:
    """HSL lightness of ``icon``'s visible pixels at ``size``, weighted by their opacity (0 dark, 1 light)."""
    image = icon.pixmap(size, size).toImage()
    total = weight = 0.0
    for y in range(image.height()):
        for x in range(image.width()):
            color = image.pixelColor(x, y)
            total += color.lightnessF() * color.alphaF()
            weight += color.alphaF()
    assert weight > 0, "the icon is empty"
    return total / weight


def buttons(window) -> dict[str, QToolButton]:
    actions = [window.start_action, window.open_action, window.demo_action, window.record_action,
               window.mark_action, window.export_action, window.about_action]
    return {a.text(): window.toolbar.widgetForAction(a) for a in actions}


def test_a_narrow_window_shows_every_toolbar_button_as_an_icon_instead_of_hiding_some(make_window, qtbot):
    w = make_window()  # 1366 px wide
    qtbot.waitUntil(lambda: w.toolbar.width() > 1200)
    wide = buttons(w)
    assert not w.toolbar.compact
    assert all(b.isVisible() for b in wide.values()), "a button went into the overflow menu at 1366 px"
    assert {name for name, b in wide.items() if b.toolButtonStyle() == TEXT_BESIDE} == set(wide) - {"About"}
    assert wide["Open recording…"].text() == "Open"  # short on the button, whole in the menu
    assert wide["About"].toolButtonStyle() == ICON_ONLY

    w.resize(1000, 700)  # half of a 2000-pixel screen, or a small laptop
    qtbot.waitUntil(lambda: w.toolbar.compact)
    narrow = buttons(w)
    # laid out once Qt has processed the new button sizes: all of them, none in the overflow menu
    qtbot.waitUntil(lambda: all(b.isVisible() for b in narrow.values()), timeout=2000)
    assert narrow["Start"].toolButtonStyle() == TEXT_BESIDE  # its name is its state
    assert all(narrow[n].toolButtonStyle() == ICON_ONLY for n in narrow if n != "Start")
    assert all(not narrow[n].icon().isNull() for n in narrow), "an icon-only button without an icon"
    assert "Ctrl+M" in narrow["Mark moment"].toolTip()  # the name and key still show on hover
    assert narrow["Export timeline…"].toolTip() == \
        "Save the emotion timeline as CSV or JSON results, or a PNG picture (Ctrl+E)"  # what the dialog offers

    w.resize(1366, 768)
    qtbot.waitUntil(lambda: not w.toolbar.compact)
    assert buttons(w)["Record session"].toolButtonStyle() == TEXT_BESIDE


@pytest.fixture
def dark_palette():
    """Switches of the application palette to a dark desktop theme's and back; the one before restored."""
    app = QApplication.instance()
    before = QPalette(app.palette())
    dark = QPalette(before)
    roles = QPalette.ColorRole
    for role, color in [(roles.Window, "#303030"), (roles.WindowText, "#eeeeee"), (roles.Base, "#202020"),
                        (roles.Text, "#eeeeee"), (roles.Button, "#353535"), (roles.ButtonText, "#f0f0f0")]:
        dark.setColor(role, QColor(color))
    yield (lambda: app.setPalette(dark)), (lambda: app.setPalette(before))
    app.setPalette(before)


def test_media_icons_follow_a_switch_to_a_dark_theme_and_back(make_window, qtbot, dark_palette):
    w = make_window()
    w.play_demo()
    wait_replay_done(qtbot, w)  # the replay bar's play button is shown
    light_glyphs = {"start": mean_lightness(w.start_action.icon()),
                    "demo": mean_lightness(w.demo_action.icon()),
                    "mark": mean_lightness(w.mark_action.icon()),
                    "replay": mean_lightness(w.replay_bar.pause_button.icon())}
    assert max(light_glyphs.values()) < 0.35, light_glyphs  # dark glyphs on the light window

    to_dark, to_light = dark_palette
    to_dark()  # the desktop switched to its dark theme while the app runs
    qtbot.waitUntil(lambda: mean_lightness(w.start_action.icon()) > 0.8)
    assert mean_lightness(w.demo_action.icon()) > 0.8
    assert mean_lightness(w.mark_action.icon()) > 0.8
    assert mean_lightness(w.replay_bar.pause_button.icon()) > 0.8
    w.toggle_listening()  # Start's glyph is redrawn (as Stop's, or Start's if no input opens) in the new colour
    assert mean_lightness(w.start_action.icon()) > 0.8
    folder = mean_lightness(w.open_action.icon())  # a coloured picture, not a glyph: left as drawn

    to_light()
    qtbot.waitUntil(lambda: mean_lightness(w.start_action.icon()) < 0.35)
    assert mean_lightness(w.replay_bar.pause_button.icon()) < 0.35
    assert mean_lightness(w.open_action.icon()) == pytest.approx(folder)


def test_the_probability_bars_follow_a_switch_to_a_dark_theme(make_window, qtbot, dark_palette):
    """Their troughs are the palette's base colour, which a style sheet takes when it is set."""
    w = make_window()
    w.play_demo()
    wait_replay_done(qtbot, w)

    def trough(bar) -> float:  # the bar's far end: past the value, the trough shows
        image = bar.grab().toImage()
        return image.pixelColor(image.width() - 6, image.height() // 2).lightnessF()

    bars = [*w.now_panel.bars.values(), w.now_panel.level_meter]
    assert min(trough(bar) for bar in bars) > 0.9  # white in the light palette
    to_dark, to_light = dark_palette
    to_dark()
    qtbot.waitUntil(lambda: max(trough(bar) for bar in bars) < 0.2)
    to_light()
    qtbot.waitUntil(lambda: min(trough(bar) for bar in bars) > 0.9)


def test_in_the_smallest_window_the_now_panel_scrolls_without_losing_its_right_edge(make_window, qtbot):
    """At the window's minimum size the panel, a session summary and an input warning in it, is taller
    than its room: its scroll bar goes beside it, not over the percentages and the dBFS reading; the
    plots' side keeps its legend whole."""
    from PySide6.QtWidgets import QScrollArea

    w = make_window(resize=False)
    w.resize(w.minimumSize())
    w.play_demo()
    wait_replay_done(qtbot, w)
    # how tall the summary is depends on the model's results; a warning makes the panel too tall anyway
    w.now_panel.set_input_warning("Input clipping: lower the input gain in the system's sound settings")
    scroll = next(a for a in w.findChildren(QScrollArea) if a.widget() is w.now_panel)
    qtbot.waitUntil(lambda: w.size() == w.minimumSize() and scroll.verticalScrollBar().isVisible())
    assert scroll.viewport().width() >= w.now_panel.minimumSizeHint().width()  # nothing cut off at the right
    legend = w.timeline.legend
    assert legend.width() >= legend.minimumSizeHint().width()  # nor of the timeline's legend
