"""The "now" panel: current emotion in large type, class probabilities, level meter, speech indicator."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
)

from realtime_ser.gui.palette import readable_text_color
from realtime_ser.gui.timeline_view import Swatch
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent
from realtime_ser.pipeline.smoothing import percent_shown
from realtime_ser.pipeline.summary import speech_time_by_label

LEVEL_FLOOR_DB = -60.0


def _bar_style(color: QColor) -> str:
    return (
        "QProgressBar { border: 1px solid palette(mid); border-radius: 3px; background: palette(base);"
        " text-align: center; }"
        f"QProgressBar::chunk {{ background-color: {color.name()}; border-radius: 2px; }}"
    )


def _heading(text: str, name: str) -> QLabel:
    """A section heading: bold in the normal text colour (in the palette's "mid" grey it read as
    disabled, 1.7:1 on the window)."""
    label = QLabel(text)
    label.setObjectName(name)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def describe_result(event: EmotionEvent) -> str:
    """The two lines under the big label: how sure, and which utterance in what state (short enough
    for the panel's narrowest width, so it does not wrap into a third line). The confidence is
    rounded down, so that it reads below the threshold's percent exactly when it is uncertain."""
    if event.uncertain:
        how_sure = f"best guess {event.top_label}, {percent_shown(event.confidence)}"
    else:
        how_sure = f"{percent_shown(event.confidence)} confidence"
    state = "final" if event.final else "still speaking…"
    return f"{how_sure}\n{state} · {event.start:.1f}–{event.end:.1f} s"


class NowPanel(QFrame):
    def __init__(self, labels: list[str], emotion_colors: dict[str, QColor], parent=None):
        super().__init__(parent)
        self.labels = labels
        self.emotion_colors = emotion_colors
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(248)
        self.setMaximumWidth(340)
        self._last_event: EmotionEvent | None = None
        self._speaking: bool | None = None
        self._level_shown: tuple[int, str] | None = None
        self._no_speech = False  # show_no_speech() is shown (set_emotion(None) says "waiting" again)

        title = _heading("Now", "now_heading")
        self.emotion_label = QLabel("—")
        self.emotion_label.setObjectName("now_emotion")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 2.4)
        font.setBold(True)
        self.emotion_label.setFont(font)
        self.emotion_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.detail_label = QLabel("waiting for speech")
        self.detail_label.setObjectName("now_detail")
        self.detail_label.setWordWrap(True)
        # Two lines kept free whatever it says, so the bars below do not jump as results arrive.
        self.detail_label.setMinimumHeight(2 * self.detail_label.fontMetrics().lineSpacing())
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        probs = QGridLayout()
        probs.setHorizontalSpacing(6)
        probs.setVerticalSpacing(4)
        self.bars: dict[str, QProgressBar] = {}
        # Each percentage in a column of its own, right of its bar: written over the bar it met the
        # bar's colour (dark text on sad's blue, light text on surprised's yellow in a dark theme).
        self.percents: dict[str, QLabel] = {}
        percent_width = self.fontMetrics().horizontalAdvance("100%") + 4
        for row, lab in enumerate(labels):
            probs.addWidget(Swatch(emotion_colors[lab]), row, 0)
            probs.addWidget(QLabel(lab), row, 1)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setFormat("")
            bar.setTextVisible(False)  # its text, the percentage, is in the label beside it
            bar.setFixedHeight(16)
            bar.setStyleSheet(_bar_style(emotion_colors[lab]))
            bar.setAccessibleName(f"{lab} probability")  # a screen reader reads its value with it
            self.bars[lab] = bar
            probs.addWidget(bar, row, 2)
            percent = QLabel()
            percent.setFixedWidth(percent_width)
            percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.percents[lab] = percent
            probs.addWidget(percent, row, 3)
        probs.setColumnStretch(2, 1)

        self.speech_indicator = QLabel()
        self.speech_indicator.setObjectName("speech_indicator")
        self.level_meter = QProgressBar()
        self.level_meter.setObjectName("level_meter")
        self.level_meter.setRange(0, int(-LEVEL_FLOOR_DB * 10))
        self.level_meter.setFixedHeight(16)
        self.level_meter.setFormat("")
        self.level_meter.setStyleSheet(_bar_style(QColor("#009E73")))
        self.level_meter.setAccessibleName("Input level")
        self.level_label = QLabel("-∞ dBFS")
        self.level_label.setMinimumWidth(70)
        self.level_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        # A fault of the live input (muted, clipping), shown for as long as it lasts.
        self.input_warning = QLabel()
        self.input_warning.setObjectName("input_warning")
        self.input_warning.setStyleSheet("color: #D55E00; font-weight: bold;")
        self.input_warning.setWordWrap(True)
        self.input_warning.hide()

        level_row = QHBoxLayout()
        level_row.addWidget(QLabel("Input"))
        level_row.addWidget(self.level_meter, 1)
        level_row.addWidget(self.level_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(title)
        layout.addWidget(self.emotion_label)
        layout.addWidget(self.detail_label)
        layout.addSpacing(8)
        layout.addLayout(probs)
        layout.addSpacing(14)
        layout.addWidget(_heading("This session", "session_heading"))
        self.summary_label = QLabel("no utterances yet")
        self.summary_label.setObjectName("session_summary")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        layout.addStretch(1)
        layout.addWidget(self.speech_indicator)
        layout.addWidget(self.input_warning)
        layout.addLayout(level_row)
        self.set_speaking(False)

    @property
    def event(self) -> EmotionEvent | None:
        """The result shown (None: none yet)."""
        return self._last_event

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """The system palette changed (light/dark): a style sheet resolves ``palette(...)`` when it is
        set, so the bars' are set again, and the emotion's colour is chosen again against the new
        window colour."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "level_meter"):
            for bar in [*self.bars.values(), self.level_meter]:
                style = bar.styleSheet()
                bar.setStyleSheet("")
                bar.setStyleSheet(style)
            if not self._no_speech:
                self.set_emotion(self._last_event, again=True)

    def set_emotion(self, event: EmotionEvent | None, again: bool = False) -> None:
        """Show ``event`` (None: nothing yet); ``again``: draw it anew even if it is the one shown."""
        if event is self._last_event and not self._no_speech and not again:
            return
        self._last_event = event
        self._no_speech = False
        if event is None:
            self.emotion_label.setText("—")
            self.emotion_label.setStyleSheet("")
            self.detail_label.setText("waiting for speech")
            for lab, bar in self.bars.items():
                bar.setValue(0)
                bar.setFormat("")
                self.percents[lab].setText("")
            return
        color = self.emotion_colors.get(event.label, self.emotion_colors[UNCERTAIN])
        color = readable_text_color(color, self.palette().color(QPalette.ColorRole.Window))
        self.emotion_label.setText(event.label)
        self.emotion_label.setStyleSheet(f"color: {color.name()};")
        self.detail_label.setText(describe_result(event))
        for lab, bar in self.bars.items():
            p = float(event.probabilities.get(lab, 0.0))
            bar.setValue(int(round(p * 1000)))
            bar.setFormat(percent_shown(p))  # the bar's value text, for screen readers
            self.percents[lab].setText(percent_shown(p))

    def show_no_speech(self, text: str = "no speech in this recording") -> None:
        """Idle, with ``text`` where "waiting for speech" was: a source that ended with no speech in it
        (nothing is coming; ``set_emotion(None)`` waits for speech again)."""
        self.set_emotion(None)
        self._no_speech = True
        self.detail_label.setText(text)
        self.summary_label.setText("no utterances")
        self.set_speaking(False)

    @property
    def no_speech(self) -> bool:
        """Whether :meth:`show_no_speech` is what the panel shows."""
        return self._no_speech

    def set_summary(self, finals: list[EmotionEvent]) -> None:
        """Speaking time per emotion over the final results so far (shares of speech time)."""
        if not finals:
            self.summary_label.setText("no utterances yet")
            return
        times = speech_time_by_label(finals)
        total = sum(secs for _, secs in times) or 1.0
        rows = []
        for label, secs in times:
            color = self.emotion_colors.get(label, self.emotion_colors[UNCERTAIN]).name()
            rows.append(f"<tr><td><span style='color:{color}'>■</span> {label}</td>"
                        f"<td align='right'>&nbsp;{secs / total:.0%}</td>"
                        f"<td align='right'>&nbsp;{secs:.1f} s</td></tr>")
        self.summary_label.setText(
            f"{len(finals)} utterance{'s' if len(finals) != 1 else ''}, {total:.1f} s of speech"
            f"<table cellspacing='1'>{''.join(rows)}</table>")

    def set_speaking(self, speaking: bool) -> None:
        if speaking == self._speaking:
            return
        self._speaking = speaking
        if speaking:
            self.speech_indicator.setText("<span style='color:#D55E00; font-size:14pt'>●</span> speech")
        else:
            self.speech_indicator.setText("<span style='color:#8C8C8C; font-size:14pt'>○</span> silence")

    @property
    def speaking(self) -> bool:
        return bool(self._speaking)

    def set_input_warning(self, text: str) -> None:
        """Show ``text`` above the level meter ("" hides it)."""
        if text == self.input_warning.text() and self.input_warning.isVisible() == bool(text):
            return
        self.input_warning.setText(f"⚠ {text}" if text else "")
        self.input_warning.setVisible(bool(text))

    def set_level(self, rms: float) -> None:
        db = 20.0 * math.log10(rms) if rms > 1e-9 else -math.inf
        value = int(round((max(LEVEL_FLOOR_DB, db) - LEVEL_FLOOR_DB) * 10)) if math.isfinite(db) else 0
        text = f"{db:.0f} dBFS" if math.isfinite(db) else "-∞ dBFS"
        if (value, text) == self._level_shown:  # under the floor the bar stays empty but the number moves
            return
        self._level_shown = (value, text)
        self.level_meter.setValue(value)
        self.level_label.setText(text)
