"""Preferences dialog: the user settings shared with the command line (config.json), edited in place.

The dialog only edits a :class:`~realtime_ser.config.Settings`; the main window saves it (atomically,
validated by ``config.save``), applies the confidence threshold at once (:func:`applied_when` says
what applies when) and uses the rest for the next pipeline it starts. The spin boxes' ranges are
``config.NUMBER_RANGES``, the limits ``config.json`` is checked against, so the dialog cannot produce
a file the CLI refuses.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from realtime_ser.config import NUMBER_RANGES, Settings, default_session_dir


def _spin(name: str, value: float, step: float, decimals: int, suffix: str = "") -> QDoubleSpinBox:
    """A spin box over setting ``name``'s allowed range (an excluded upper bound is one step less)."""
    low, high, high_excluded = NUMBER_RANGES[name]
    box = QDoubleSpinBox()
    box.setRange(low, high - step if high_excluded else high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


def applied_when(old: Settings, new: Settings, sessions_dir_given: bool = False) -> str:
    """What of the change from ``old`` to ``new`` applied now and what applies later, for the status
    bar: "Applied now: confidence threshold 60%. From the next start or replay: smoothing." ("" when
    nothing changed).  ``sessions_dir_given``: --sessions-dir outranks the session folder setting."""
    when: dict[str, list[str]] = {}

    def changed(name: str, label: str, applies: str) -> None:
        if getattr(old, name) != getattr(new, name):
            when.setdefault(applies, []).append(label)

    later = "From the next start or replay"
    changed("confidence_threshold", f"confidence threshold {new.confidence_threshold * 100:g}%", "Applied now")
    changed("smoothing", "smoothing", later)
    changed("partial_interval_s", "partial interval", later)
    changed("max_utterance_s", "longest utterance", later)
    changed("session_dir", "session folder",
            "From a start without --sessions-dir" if sessions_dir_given else "Applied now")
    changed("record_sessions", "recording every session", "From the next start of the microphone")
    order = ["Applied now", later, "From the next start of the microphone", "From a start without --sessions-dir"]
    return " ".join(f"{applies}: {', '.join(when[applies])}." for applies in order if applies in when)


def _percent_spin(name: str, fraction: float, step: int) -> QSpinBox:
    """A spin box in whole percent over setting ``name``'s allowed range (a fraction in the settings),
    as confidences are shown everywhere else in the app."""
    low, high, high_excluded = NUMBER_RANGES[name]
    box = QSpinBox()
    box.setRange(round(low * 100), round(high * 100) - (step if high_excluded else 0))
    box.setSingleStep(step)
    box.setSuffix("%")
    box.setValue(round(fraction * 100))
    return box


class PreferencesDialog(QDialog):
    """Confidence threshold, smoothing, partial interval, utterance length and session recording."""

    def __init__(self, config: Settings, config_path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._config = config
        form = QFormLayout()
        self.confidence = _percent_spin("confidence_threshold", config.confidence_threshold, 5)
        self.confidence.setToolTip("Results whose top probability is below this are shown as uncertain")
        form.addRow("Uncertain below confidence", self.confidence)
        self.smoothing = _spin("smoothing", config.smoothing, 0.05, 2)
        self.smoothing.setToolTip("Weight of earlier partial results within an utterance (0 = none)")
        form.addRow("Smoothing of partial results", self.smoothing)
        self.partial_interval = _spin("partial_interval_s", config.partial_interval_s, 0.1, 1, " s")
        form.addRow("Partial result every", self.partial_interval)
        self.max_utterance = _spin("max_utterance_s", config.max_utterance_s, 1.0, 0, " s")
        self.max_utterance.setToolTip("Longer speech is cut into several utterances")
        form.addRow("Longest utterance", self.max_utterance)
        # setting -> (its box, box units per setting unit, what the box first showed)
        self._boxes = {name: (box, scale, box.value()) for name, box, scale in (
            ("confidence_threshold", self.confidence, 100), ("smoothing", self.smoothing, 1),
            ("partial_interval_s", self.partial_interval, 1), ("max_utterance_s", self.max_utterance, 1))}
        self.session_dir = QLineEdit(config.session_dir or "")
        self.session_dir.setPlaceholderText(str(default_session_dir()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.session_dir, 1)
        folder_row.addWidget(browse)
        form.addRow("Session folder", folder_row)
        self.record_sessions = QCheckBox("Record every listening session")
        self.record_sessions.setChecked(config.record_sessions)
        form.addRow("", self.record_sessions)
        note = QLabel(f"Saved in {config_path}, which the command line reads too. The confidence threshold "
                      "applies at once, to the results shown too; smoothing, the partial interval and the "
                      "longest utterance from the next start or replay.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Session folder",
                                                  self.session_dir.text() or str(default_session_dir()))
        if folder:
            self.session_dir.setText(folder)

    def settings(self) -> Settings:
        """The edited settings (everything the dialog does not show kept as it was)."""
        return dataclasses.replace(
            self._config,
            **{name: self._edited(name) for name in self._boxes},
            session_dir=self.session_dir.text().strip() or None,
            record_sessions=self.record_sessions.isChecked(),
        )

    def _edited(self, name: str) -> float:
        """Setting ``name`` as its box leaves it.  A box rounds to its decimals / whole percent, so
        config.json's smoothing 0.333 shows as 0.33: unless the user changed what the box showed, the
        stored value is kept exactly (and so not reported as changed), not the rounding."""
        box, scale, shown = self._boxes[name]
        if box.value() == shown:
            return getattr(self._config, name)
        return round(box.value() / scale, 4)
