"""How the emotion timeline draws a band (real widgets, offscreen): partial results striped in the
full emotion colour, unlike a final result (solid) and an uncertain one (grey, hatched)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

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
    assert band_look(_event("sad", 0.8, True)) == (b.SolidPattern, 0.35 + 0.6 * 0.8, p.SolidLine)
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
