"""Control widgets: input device and channel pickers, VAD sensitivity, a toolbar that fits narrow windows,
replay transport, notice banner."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractSlider,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProxyStyle,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolBar,
    QToolButton,
    QWidget,
)

from realtime_ser.gui.icons import glyph
from realtime_ser.gui.input_devices import InputChoice, channel_choices
from realtime_ser.gui.timeline_model import format_time


class DevicePicker(QComboBox):
    """Input devices, re-listed every time the list is opened (so hot-plugged devices appear).

    ``list_inputs`` returns :class:`InputChoice` entries; it is injected so the picker does not
    depend on how devices are enumerated. Item data is the entry's ``spec``.
    """

    #: The list was read again (the chosen device's inputs may have changed).
    refreshed = Signal()

    def __init__(self, list_inputs: Callable[[], list[InputChoice]], parent=None):
        super().__init__(parent)
        self._list_inputs = list_inputs
        self._choices: dict[str, InputChoice] = {}
        self.setMinimumContentsLength(22)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setToolTip("Input device (the list refreshes when opened)")
        self.setAccessibleName("Input device")
        self.error: str | None = None
        #: The input chosen (saved, or picked earlier) that is not connected now: the default entry
        #: stands in for it, and it is chosen again once it is listed (a USB microphone plugged in).
        self.missing: str | None = None

    def refresh(self) -> list[str]:
        """Re-read the device list, keeping the current choice when it still exists (else the default
        stands in, and the choice is :attr:`missing`); returns the specs."""
        current = self.missing or self.currentData()
        try:
            devices = self._list_inputs()
            self.error = None
        except Exception as exc:  # noqa: BLE001 - any enumeration failure is shown, not raised
            devices = []
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self._choices = {d.spec: d for d in devices}
        self.blockSignals(True)
        self.clear()
        for d in devices:
            self.addItem(f"{d.label}  (default)" if d.is_default else d.label, d.spec)
        if not devices:
            self.addItem("no input device found", None)
        index = self.findData(current) if current is not None else -1
        self.missing = current if index < 0 and current is not None else None
        if index < 0:
            index = next((i for i, d in enumerate(devices) if d.is_default), 0)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self.refreshed.emit()
        return [d.spec for d in devices]

    def choice(self, spec: str | None = None) -> InputChoice | None:
        """The listed entry for ``spec`` (default: the current one), if listed."""
        return self._choices.get(self.currentData() if spec is None else spec)

    def label(self, spec: str | None) -> str:
        """What the list calls ``spec``: the status bar and session names use it too."""
        choice = self._choices.get(spec) if spec else None
        return choice.label if choice is not None else (spec or "default input")

    def select(self, name: str | None) -> bool:
        """Choose ``name``; False where it is not listed."""
        index = self.findData(name) if name else -1
        if index >= 0:
            self.setCurrentIndex(index)
            self.missing = None
            return True
        return False

    def select_saved(self, name: str | None) -> None:
        """Choose the input saved last time; one not connected now is :attr:`missing`."""
        if name and not self.select(name):
            self.missing = name

    def showPopup(self) -> None:  # noqa: N802 (Qt naming)
        self.refresh()
        super().showPopup()


class ChannelPicker(QComboBox):
    """Which input of a multi-channel device to listen to (one microphone of an interview, input 2
    of an interface, one side of a stereo source); hidden where the device offers no choice."""

    #: The chosen channel (1-based), or None for the device's own default.
    chosen = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Listen to one input of this device alone (each speaker on their own microphone), "
                        "or to all of them")
        self.setAccessibleName("Input channel")
        self.activated.connect(lambda i: self.chosen.emit(self.itemData(i)))

    def offer(self, choice: InputChoice | None, channel: int | None) -> bool:
        """List ``choice``'s channels with ``channel`` selected (one it lacks: the device's default);
        False where there is nothing to choose (the toolbar then hides the picker)."""
        self.clear()
        items = channel_choices(choice) if choice is not None else []
        for text, data in items:
            self.addItem(text, data)
        index = self.findData(channel) if channel is not None else -1
        self.setCurrentIndex(max(index, 0))  # the first entry is the device's default
        return bool(items)

    @property
    def channel(self) -> int | None:
        """The channel to listen to; None: the device's default (also where nothing is offered)."""
        return self.currentData() if self.count() else None


class SensitivityControl(QWidget):
    """Slider for VAD sensitivity plus the "Calibrate noise" button."""

    changed = Signal(int)
    calibrate = Signal()

    def __init__(self, value: int, parent=None):
        super().__init__(parent)
        # its natural width only: a toolbar short of room would otherwise spread it apart
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        label = QLabel("Se&nsitivity")  # Alt+N moves the keyboard to the slider
        layout.addWidget(label)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        label.setBuddy(self.slider)
        self.slider.setAccessibleName("Sensitivity")
        self.slider.setRange(0, 100)
        self.slider.setValue(value)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("How easily sound counts as speech: right = quieter speech is detected")
        self.slider.valueChanged.connect(self.changed)
        layout.addWidget(self.slider)
        self.calibrate_button = QPushButton("Calibrate noise")
        self.calibrate_button.setToolTip("Measure the background noise for 1 s (stay quiet) (Ctrl+K)")
        self.calibrate_button.clicked.connect(self.calibrate)
        layout.addWidget(self.calibrate_button)


class FittingToolBar(QToolBar):
    """A toolbar that shows its buttons' names beside their icons while they fit and icons alone
    (names in tooltips) when the window is too narrow, instead of Qt's way of hiding the last
    buttons (Record, Mark) behind an overflow arrow.  An action given a ``fixed_style`` keeps it
    either way: Start / Stop its name, which is its state; About its well-known sign alone."""

    def __init__(self, title: str, parent=None):
        super().__init__(title, parent)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._labelled_width = 0  # the width the bar needs with names, measured while they were shown
        self._fixed: dict[QAction, Qt.ToolButtonStyle] = {}

    def fixed_style(self, action: QAction, style: Qt.ToolButtonStyle) -> None:
        self._fixed[action] = style
        self._restyle_fixed()

    @property
    def compact(self) -> bool:
        """True while the buttons show icons alone."""
        return self.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly

    def fit(self) -> None:
        """Names if the bar is as wide as they need, else icons alone.

        The need is measured whenever names are shown; while they are not, the last measure
        stands (should the content have grown meanwhile, names come back, are measured, and go
        again: one relayout, no loop)."""
        if not self.compact:
            self._labelled_width = self.sizeHint().width()
        style = (Qt.ToolButtonStyle.ToolButtonTextBesideIcon if self.width() >= self._labelled_width
                 else Qt.ToolButtonStyle.ToolButtonIconOnly)
        if style != self.toolButtonStyle():
            self.setToolButtonStyle(style)
            self._restyle_fixed()
            if not self.compact:
                self.fit()

    def _restyle_fixed(self) -> None:
        for action, style in self._fixed.items():
            button = self.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(style)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.fit()


#: The seek slider's least width (a 10-minute recording: about 2 s a pixel), taken from a long title.
SEEK_SLIDER_MIN_WIDTH = 240


class _ClickToSeekStyle(QProxyStyle):
    """The application's style, but a left click on a slider's track puts the handle there (and goes
    on as a drag), as a media player's seek bar does, instead of moving it one page towards it."""

    def styleHint(self, hint, option=None, widget=None, return_data=None):  # noqa: N802 (Qt naming)
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, return_data)


class SeekSlider(QSlider):
    """A replay position slider that asks for a seek (``seek_to``, in its units) whenever the user
    moves it: a drag or a click on the track when released, a key (arrows, PageUp/PageDown,
    Home/End) or the wheel at once.  Only user actions: the window's own ``setValue`` as the replay
    plays does not seek (that would loop)."""

    seek_to = Signal(int)
    #: Keys the slider takes while it has the focus, rather than the window's shortcuts (End: follow live).
    _KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp,
             Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End}

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._click_style = _ClickToSeekStyle()  # kept: a widget does not own its style
        self.setStyle(self._click_style)
        self.sliderReleased.connect(lambda: self.seek_to.emit(self.value()))
        self.actionTriggered.connect(self._on_action)

    def _on_action(self, action: int) -> None:
        # A drag (and a click on the track, which starts one) seeks on release, not at every move.
        # Otherwise the position is already the new one and the value not yet: only a real move seeks.
        if action != QAbstractSlider.SliderAction.SliderMove.value and self.sliderPosition() != self.value():
            self.seek_to.emit(self.sliderPosition())

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        before = self.value()
        super().wheelEvent(event)  # a SliderMove, like a drag's, so seen here
        if self.value() != before and not self.isSliderDown():
            self.seek_to.emit(self.value())

    def event(self, event) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and event.key() in self._KEYS
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            event.accept()
            return True
        return super().event(event)


class ReplayTitle(QLabel):
    """"Replayed **name**" in the width the replay bar leaves it: a long name ends in "…" (the whole
    one in the tooltip) rather than taking the seek slider's room or being cut off mid-word."""

    MINIMUM_WIDTH = 160

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = ""
        self.name = ""
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setMinimumWidth(self.MINIMUM_WIDTH)

    def show_title(self, state: str, name: str) -> None:
        """``state`` ("Replaying", "Paused", ...) and the plain-text ``name``."""
        self.state, self.name = state, name
        self.setToolTip(f"<p>{html.escape(name)}</p>" if name else "")  # <p>: markup in the name is text
        self.updateGeometry()
        self._fit()

    def _widths(self) -> tuple[int, int, QFontMetrics]:
        """The state's width (with its space), the whole name's in bold, and the bold font's metrics."""
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        return (QFontMetrics(self.font()).horizontalAdvance(f"{self.state} "),
                metrics.horizontalAdvance(self.name), metrics)

    def _fit(self) -> None:
        state_width, name_width, metrics = self._widths()
        room = self.contentsRect().width() - state_width - 2  # 2: rich text's rounding
        # Given exactly its own width (what sizeHint asks for), elidedText still cut a short name
        # ("demo-session.fl…"): compare with the width measured the same way first.
        name = self.name if name_width <= room else metrics.elidedText(self.name, Qt.TextElideMode.ElideRight,
                                                                       max(room, 0))
        self.setText(f"{self.state} <b>{html.escape(name)}</b>")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        """The whole title, so a short name is never elided (QLabel's would follow the elided text)."""
        state_width, name_width, _ = self._widths()
        margins = self.contentsMargins()
        return QSize(state_width + name_width + 2 + margins.left() + margins.right(), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(self.MINIMUM_WIDTH, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Another font (system settings): the name's width changed."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()
            self._fit()


class ReplayBar(QWidget):
    """Transport for a replayed recording: pause/resume, seek, position, channel, audible."""

    pause_toggled = Signal(bool)
    seek_requested = Signal(float)
    audible_toggled = Signal(bool)
    #: The channel to replay alone (1-based), or None for all mixed; offered for multi-channel recordings.
    channel_chosen = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.duration = 0.0
        self.name = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.title = ReplayTitle()
        layout.addWidget(self.title)
        self.pause_button = QToolButton()
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause / resume the replay (Ctrl+P)")
        self.pause_button.setAccessibleName("Play / pause the replay")
        self._pause_glyph = QStyle.StandardPixmap.SP_MediaPause
        self._show_pause_glyph(self._pause_glyph)
        self.pause_button.toggled.connect(self._on_pause)
        layout.addWidget(self.pause_button)
        self.position = SeekSlider()  # in tenths of a second
        self.position.setMinimumWidth(SEEK_SLIDER_MIN_WIDTH)  # a long title is elided first
        self.position.setRange(0, 0)
        self.position.setSingleStep(50)
        self.position.setPageStep(300)
        self.position.setToolTip("Seek: click or drag (← / → jump 5 s, PgUp / PgDn 30 s, Home / End)")
        self.position.setAccessibleName("Replay position")
        self.position.seek_to.connect(lambda tenths: self.seek_requested.emit(tenths / 10.0))
        layout.addWidget(self.position, 1)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        layout.addWidget(self.time_label)
        self.channel_box = QComboBox()
        self.channel_box.setToolTip("Analyse one channel alone (one side of a call, one speaker's microphone) "
                                    "or all channels mixed; the replay starts again")
        self.channel_box.setAccessibleName("Replayed channel")
        self.channel_box.activated.connect(lambda i: self.channel_chosen.emit(self.channel_box.itemData(i)))
        self.channel_box.hide()
        layout.addWidget(self.channel_box)
        self.audible = QCheckBox("Audible")
        self.audible.setToolTip("Play the replay on the default output device")
        self.audible.toggled.connect(self.audible_toggled)
        layout.addWidget(self.audible)

    def _on_pause(self, paused: bool) -> None:
        self._show_pause_glyph(QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause)
        self._show_title("Paused" if paused else "Replaying")
        self.pause_toggled.emit(paused)

    def _show_title(self, state: str) -> None:
        self.title.show_title(state, self.name)

    def begin(self, name: str, duration: float | None, channels: int = 1, channel: int | None = None) -> None:
        """A new replay of ``name`` (plain text), from its start; ``channel`` of its ``channels`` (None: mixed)."""
        self.name = name
        self.duration = duration or 0.0
        self.channel_box.clear()
        if channels > 1:
            self.channel_box.addItem("All channels", None)
            for n in range(1, channels + 1):
                side = {1: " (left)", 2: " (right)"}.get(n, "") if channels == 2 else ""
                self.channel_box.addItem(f"Channel {n}{side}", n)
            self.channel_box.setCurrentIndex(self.channel_box.findData(channel) if channel else 0)
        self.channel_box.setVisible(channels > 1)
        self.position.setRange(0, int(self.duration * 10))
        self.set_playing(True)
        self.set_position(0.0)

    def rename(self, name: str) -> None:
        """The recording replayed is called ``name`` now (a session renamed while replayed)."""
        self.name = name
        self.title.show_title(self.title.state, name)

    def set_playing(self, playing: bool) -> None:
        """Playing, or finished: then the button plays it again (from the slider's position)."""
        self._show_title("Replaying" if playing else "Replayed")
        self.pause_button.setToolTip("Pause / resume the replay (Ctrl+P)" if playing
                                     else "Play it again from the slider's position (Ctrl+P)")
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(not playing)
        self.pause_button.blockSignals(False)
        self._show_pause_glyph(QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay)

    def _show_pause_glyph(self, standard: QStyle.StandardPixmap) -> None:
        self._pause_glyph = standard
        self.pause_button.setIcon(glyph(self, standard))

    def changeEvent(self, event) -> None:
        """The system switched between light and dark: redraw the play/pause glyph in the new text colour."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._show_pause_glyph(self._pause_glyph)

    def set_position(self, seconds: float) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(int(seconds * 10))
        self.time_label.setText(f"{format_time(seconds)} / {format_time(self.duration)}")


class Banner(QFrame):
    """A non-modal notice under the toolbar (no microphone, errors) with up to two actions.

    It shows one message at a time, and under it any notes (problems in the settings file): a new
    message replaces the last one, the notes stay until the user dismisses the banner (✕).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#banner { background: rgba(230, 159, 0, 0.18); border: 1px solid #E69F00;"
                           " border-radius: 4px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        self.text = QLabel()
        self.text.setObjectName("banner_text")
        self.text.setWordWrap(True)
        layout.addWidget(self.text, 1)
        self.buttons: list[QPushButton] = []
        self._actions: list[Callable[[], None]] = []
        self._message = ""
        self._notes: list[str] = []
        for i in range(2):
            button = QPushButton()
            button.clicked.connect(lambda _checked=False, i=i: self._run(i))
            button.hide()
            layout.addWidget(button)
            self.buttons.append(button)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self.hide()

    @property
    def message(self) -> str:
        """The message shown (rich text; empty: none, or the banner was dismissed)."""
        return self._message

    def show_message(self, text: str, actions: list[tuple[str, Callable[[], None]]] = ()) -> None:
        """Show ``text`` (rich text) with these actions in place of the last message; the notes stay under it."""
        self._message = text
        self._actions = [fn for _, fn in actions]
        for i, button in enumerate(self.buttons):
            if i < len(actions):
                button.setText(actions[i][0])
                button.show()
            else:
                button.hide()
        self._render()

    def clear_message(self) -> None:
        """The message no longer applies (the microphone works now, a replay began): the notes alone, if any."""
        if self._notes:
            self.show_message("")
        else:
            self._message = ""
            self.hide()

    def replace_text(self, old: str, new: str) -> None:
        """Say ``new`` where the message says ``old`` (its actions and the notes kept); nothing if it does not."""
        if old in self._message:
            self._message = self._message.replace(old, new)
            self._render()

    def add_note(self, text: str) -> None:
        """Add ``text`` under the message, there until the user dismisses the banner (or show it alone)."""
        if self.isHidden():  # a message the user no longer sees is not brought back with the note
            self._message = ""
            for button in self.buttons:
                button.hide()
            self._actions = []
        self._notes.append(text)
        self._render()

    def dismiss(self) -> None:
        """The user closed the banner: message and notes are read."""
        self._message = ""
        self._notes.clear()
        self.hide()

    def _render(self) -> None:
        self.text.setText("<br>".join(([self._message] if self._message else []) + self._notes))
        self.show()

    def _run(self, i: int) -> None:
        if i < len(self._actions):
            self._actions[i]()
