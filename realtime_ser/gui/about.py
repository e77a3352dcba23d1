"""About box: program version and the model card summary read from the model file."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFrame, QTextBrowser, QVBoxLayout, QWidget

from realtime_ser import __version__
from realtime_ser.gui.shortcuts import SHORTCUTS
from realtime_ser.model.metadata import ModelMetadata


def _format_metric(value) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if 0.0 <= value <= 1.0 else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format_metric(v)}" for k, v in value.items())
    return html.escape(str(value))


def metric_name(key: str) -> str:
    """'ravdess_test_ua_snr10' -> 'RAVDESS test UA at 10 dB SNR' (unknown keys stay readable)."""
    words = []
    for part in key.split("_"):
        if part.startswith("snr") and part[3:].lstrip("-").isdigit():
            words.append(f"at {part[3:]} dB SNR")
        elif part in ("ua", "wa"):
            words.append(part.upper())
        elif part in ("ravdess", "emodb", "tess", "savee"):
            words.append({"emodb": "EMO-DB"}.get(part, part.upper()))
        else:
            words.append(part)
    return html.escape(" ".join(words))


CROSS_CORPUS = "cross_corpus_"
"""Prefix of the figures ``tools.build_model`` stores for its cross-corpus check: the same recipe trained
WITHOUT that corpus (models/README.md), so they must not be shown as the shipped model's test metrics:
the shipped model was trained on that corpus."""

SHORTCUTS_HTML = "<p><b>Keyboard</b><br>" + " · ".join(f"<b>{k}</b> {v}" for k, v in SHORTCUTS) + "</p>"


def model_card_html(md: ModelMetadata, model_path: str, log_path=None) -> str:
    """The model card summary as HTML: labels, version, data, metrics, licence (and the app's log file)."""
    esc = html.escape
    rows = [
        *([("Log file", esc(str(log_path)))] if log_path is not None else []),
        ("Model file", esc(model_path)),
        ("Version", esc(md.model_version)),
        ("Created", esc(md.created or "unknown")),
        ("Quantisation", esc(md.quantization)),
        ("Labels", esc(", ".join(md.labels))),
        ("Window", f"{md.features.window_seconds:g} s of {md.features.sample_rate} Hz audio, "
                   f"{md.features.n_mfcc} MFCC + deltas" + (" + pitch and voicing" if md.features.pitch else "")),
        ("Training data", esc(", ".join(md.training_data) or "not recorded")),
    ]
    metric_rows, cross_rows, held_out = [], [], {}
    for key, value in (md.metrics or {}).items():
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            value = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
        if isinstance(value, list):
            continue
        key = str(key)
        if key.startswith(CROSS_CORPUS):  # another model's figure: kept out of this model's test metrics
            cross_rows.append((metric_name(key[len(CROSS_CORPUS):]), _format_metric(value)))
            held_out.setdefault(metric_name(key[len(CROSS_CORPUS):].split("_")[0]))
        else:
            metric_rows.append((metric_name(key), _format_metric(value)))
    table = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    metrics = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in metric_rows[:12])
    cross = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in cross_rows[:4])
    held_out = " / ".join(held_out)
    licence = esc(md.licence or "see the model card")
    return (
        f"<h3>realtime-ser {esc(__version__)}</h3>"
        "<p>Live speech emotion recognition on a laptop CPU. Everything runs offline on this computer.</p>"
        f"<table cellspacing='4'>{table}</table>"
        + (f"<p><b>Test metrics</b> (held-out speakers; UA = unweighted accuracy, WA = weighted)</p>"
           f"<table cellspacing='4'>{metrics}</table>" if metrics else "")
        + (f"<p><b>Cross-corpus check</b> (another model: this recipe trained without {held_out}, "
           f"scored on all its clips)</p>"
           f"<table cellspacing='4'>{cross}</table>" if cross else "")
        + f"<p><b>Model licence:</b> {licence}"
        + ("<br><b>Non-commercial use only</b> (the training corpora's licences carry over to the model)."
           if "non-commercial" in licence.lower() or "noncommercial" in licence.lower() else "")
        + "</p>"
        "<p>Demo session: six clips of CREMA-D (Cao et al. 2014), Open Database License / Database Contents "
        "License.</p>"
        + SHORTCUTS_HTML
        + "<p><i>Acted-emotion models are far less accurate on everyday speech; treat results as a rough hint, "
        "never as a judgement about a person.</i></p>"
    )


class AboutDialog(QDialog):
    """Non-modal: the live views keep running behind it.

    The card is a read-only text browser, not a label: sized to show it all where the screen is
    tall enough, it scrolls on a small screen instead of cutting off the end (shortcuts, the warning).
    """

    WIDTH = 600

    def __init__(self, parent: QWidget, md: ModelMetadata, model_path: str, log_path=None):
        super().__init__(parent)
        self.setWindowTitle("About realtime-ser")
        self.browser = QTextBrowser()
        self.browser.setObjectName("about_text")
        self.browser.setHtml(model_card_html(md, model_path, log_path))
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        self.browser.viewport().setAutoFillBackground(False)  # the dialog's own background, as a label
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.setModal(False)
        self._fit_to_text(buttons.sizeHint().height())

    def _fit_to_text(self, buttons_height: int) -> None:
        """As tall as the card at WIDTH, but never taller than 90 % of the screen's free area."""
        doc = self.browser.document()
        doc.setTextWidth(self.WIDTH)  # the browser's width below (no frame, no scroll bar when it fits)
        margins = self.layout().contentsMargins()
        wanted = (int(doc.size().height()) + self.fontMetrics().lineSpacing()  # a line of slack for rounding
                  + buttons_height + self.layout().spacing() + margins.top() + margins.bottom())
        screen = (self.parentWidget() or self).screen()
        room = int(screen.availableGeometry().height() * 0.9) if screen is not None else wanted
        self.resize(self.WIDTH + margins.left() + margins.right(), min(wanted, room))

    def text(self) -> str:
        return self.browser.toPlainText()


def show_about(parent: QWidget, md: ModelMetadata, model_path: str, log_path=None) -> AboutDialog:
    box = AboutDialog(parent, md, model_path, log_path)
    box.show()
    return box
