"""How the emotion timeline draws a band (real widgets, offscreen): partial results striped in the
full emotion colour, unlike a final result (solid) and an uncertain one (grey, hatched)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from realtime_ser.gui.palette import emotion_colors, plot_colors
from realtime_ser.gui.timeline_model import TimelineModel
from realtime_ser.gui.timeline_view import STRIPE_PX, STRIPE_TINT, TimelineView, band_brush, band_look
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent, SpeechEvent

LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def _event(label, confidence, final, uid=1, start=1.0, end=4.0):
    top = "sad" if label == UNCERTAIN else label
    probs = {lab: (confidence if lab == top else (1 - confidence) / 6) for lab in LABELS}
    return EmotionEvent(uid, start, end, label, top, confidence, probs, final)


def test_each_kind_of_result_has_its_own_look():
    b, p = Qt.BrushStyle, Qt.PenStyle
    assert band_look(_event("sad", 0.8, True)) == (b.SolidPattern, 1.0, p.SolidLine)
    assert band_look(_event("sad", 0.45, True)) == (b.SolidPattern, 1.0, p.SolidLine)  # its height says how sure
    assert band_look(_event("sad", 0.3, False)) == (b.TexturePattern, 1.0, p.DashLine)  # however unsure
    assert band_look(_event(UNCERTAIN, 0.3, True)) == (b.BDiagPattern, 1.0, p.SolidLine)
    assert band_look(_event(UNCERTAIN, 0.3, False)) == (b.BDiagPattern, 1.0, p.DashLine)
    assert band_look(None) == (b.NoBrush, 1.0, p.DashLine)


def test_a_partial_band_is_striped_in_the_full_colour_of_its_emotion():
    sad = emotion_colors(LABELS)["sad"]
    stripes = band_brush(Qt.BrushStyle.TexturePattern, sad).textureImage()
    on, off = STRIPE_PX
    assert stripes.width() == on + off
    assert all(stripes.pixelColor(x, 0) == sad for x in range(on))  # not a faint sad that passes for neutral
    tint = QColor(sad)
    tint.setAlphaF(STRIPE_TINT)
    assert all(stripes.pixelColor(x, 0).rgba() == tint.rgba() for x in range(on, on + off))


def test_the_stripes_keep_their_width_in_pixels_at_any_zoom_and_the_legend_explains_them(qtbot):
    colors = emotion_colors(LABELS)
    model = TimelineModel()
    model.add_speech(SpeechEvent("start", 1.0, 1))
    model.add_emotion(_event("sad", 0.9, False))
    view = TimelineView(model, LABELS, colors, plot_colors(False))
    qtbot.addWidget(view)
    view.resize(1000, 300)
    view.show()
    assert view.legend.findChild(type(view.legend), "legend_partial") is not None
    sad = colors["sad"].rgb()
    for right in (60.0, 5.0):  # seconds in view: ~15 px per second, then ~180
        view.plot.setXRange(0.0, right, padding=0)
        view.refresh(4.0)
        qtbot.wait(20)
        image = view.plot.grab().toImage()
        rect, vb = view.band(1).rect(), view.plot.getViewBox()
        left, right_px = (int(vb.mapViewToScene(p).x()) for p in (rect.topLeft(), rect.topRight()))
        y = int(vb.mapViewToScene(rect.center()).y())
        row = [image.pixelColor(x, y).rgb() == sad for x in range(left + 2, right_px - 2)]
        runs = {True: [], False: []}  # lengths of the stripes and of the gaps between them
        start = 0
        for x in range(1, len(row) + 1):
            if x == len(row) or row[x] != row[start]:
                runs[row[start]].append(x - start)
                start = x
        stripes, gaps = sorted(runs[True][1:-1]), sorted(runs[False][1:-1])  # (a grid line may cut one)
        assert len(stripes) >= (right_px - left) // sum(STRIPE_PX) - 3, (right, runs)
        assert (stripes[len(stripes) // 2], gaps[len(gaps) // 2]) == STRIPE_PX, (right, runs)


def _distance(a: QColor, b: QColor) -> float:
    return ((a.red() - b.red()) ** 2 + (a.green() - b.green()) ** 2 + (a.blue() - b.blue()) ** 2) ** 0.5


def test_a_final_band_has_its_legend_colour_however_unsure(qtbot):
    """Final bands faded with confidence (alpha 0.35 + 0.6 * confidence): a sad bar at 45 % read as the
    legend's light blue neutral and fearful as a pale pink. Drawn, each class's bar is its swatch's colour."""
    from realtime_ser.gui.timeline_view import Swatch

    colors = emotion_colors(LABELS)
    for dark in (False, True):
        model = TimelineModel()
        for i, label in enumerate(LABELS):
            uid, start = i + 1, 1.0 + 4.0 * i
            model.add_speech(SpeechEvent("start", start, uid))
            model.add_speech(SpeechEvent("end", start + 3.0, uid))
            model.add_emotion(_event(label, 0.45, True, uid=uid, start=start, end=start + 3.0))
        view = TimelineView(model, LABELS, colors, plot_colors(dark))
        qtbot.addWidget(view)
        view.resize(1200, 300)
        view.show()
        view.plot.setXRange(0.0, 30.0, padding=0)
        view.refresh(30.0)
        qtbot.wait(20)
        image = view.plot.grab().toImage()
        vb = view.plot.getViewBox()
        for i, label in enumerate(LABELS):
            rect = view.band(i + 1).rect()
            at = vb.mapViewToScene(rect.center())
            drawn = image.pixelColor(int(at.x()), int(at.y()))
            swatch = view.legend.findChild(QWidget, f"legend_{label}").findChild(Swatch)
            legend = swatch.grab().toImage().pixelColor(swatch.width() // 2, swatch.height() // 2)
            assert _distance(drawn, legend) <= 12, (dark, label, drawn.name(), legend.name())
            others = [lab for lab in LABELS if lab != label]
            assert all(_distance(drawn, colors[lab]) > 40 for lab in others), (dark, label, drawn.name())


def test_the_waveform_tints_keep_sad_and_neutral_apart_and_the_trace_readable(qtbot):
    """The waveform's emotion tints (alpha 70 of 255) made sad and neutral the same pale blue."""
    import numpy as np

    from realtime_ser.gui.display_buffers import WaveformEnvelope
    from realtime_ser.gui.palette import contrast_ratio
    from realtime_ser.gui.timeline_model import Utterance
    from realtime_ser.gui.waveform_view import WaveformView

    colors = emotion_colors(LABELS)
    for dark in (False, True):
        envelope = WaveformEnvelope(16000, 10.0, columns=800)
        envelope.push(np.zeros(16000 * 10, np.float32))
        plot = plot_colors(dark)
        view = WaveformView(envelope, plot, colors)
        qtbot.addWidget(view)
        view.resize(1000, 200)
        view.show()
        utterances = [Utterance(i + 1, 0.2 + 1.4 * i, 1.2 + 1.4 * i, _event(label, 0.8, True, uid=i + 1))
                      for i, label in enumerate(LABELS)]
        view.refresh(10.0, utterances)
        qtbot.wait(20)
        image = view.grab().toImage()
        vb = view.getViewBox()
        shade = {}
        for utt in utterances:
            at = vb.mapViewToScene(QPointF((utt.start + utt.end) / 2 - 10.0, 0.5))  # above the trace
            shade[utt.emotion.label] = image.pixelColor(int(at.x()), int(at.y()))
        assert _distance(shade["sad"], shade["neutral"]) >= 45, (dark, shade["sad"].name(), shade["neutral"].name())
        for label, color in shade.items():  # the trace stays readable on each tint
            assert contrast_ratio(QColor(plot["trace"]), color) >= 3.0, (dark, label, color.name())
