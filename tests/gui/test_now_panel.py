"""The Now panel on its own (real widgets, offscreen): stable layout and an honest level readout."""

from realtime_ser.gui.now_panel import NowPanel, describe_result
from realtime_ser.gui.palette import emotion_colors
from realtime_ser.pipeline.events import EmotionEvent

LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def _event(label, top, confidence, final, start=812.3, end=815.9):
    probs = {lab: (confidence if lab == top else (1 - confidence) / 6) for lab in LABELS}
    return EmotionEvent(7, start, end, label, top, confidence, probs, final)


def test_the_result_detail_keeps_to_two_lines_at_the_narrowest_panel(qtbot):
    panel = NowPanel(LABELS, emotion_colors(LABELS))
    qtbot.addWidget(panel)
    panel.resize(panel.minimumWidth(), 700)
    panel.show()
    two_lines = 2 * panel.detail_label.fontMetrics().lineSpacing()
    for event in (_event("uncertain", "surprised", 0.37, False), _event("disgust", "disgust", 0.99, True)):
        panel.set_emotion(event)
        qtbot.wait(10)  # the layout settles
        label = panel.detail_label
        assert label.text() == describe_result(event) and label.text().count("\n") == 1
        assert label.heightForWidth(label.width()) <= two_lines  # no third line to clip or to push the bars
        assert label.height() >= two_lines
    assert "best guess surprised, 37%\nstill speaking… · 812.3–815.9 s" == describe_result(
        _event("uncertain", "surprised", 0.37, False))


def test_a_confidence_just_under_the_threshold_reads_under_it(qtbot):
    """0.397 is uncertain at the default 40% threshold: shown as 39%, not 40%, in the detail and the bars."""
    panel = NowPanel(LABELS, emotion_colors(LABELS))
    qtbot.addWidget(panel)
    panel.set_emotion(_event("uncertain", "sad", 0.397, True))
    assert panel.detail_label.text().startswith("best guess sad, 39%\n")
    assert panel.bars["sad"].text() == "39%" and panel.bars["happy"].text() == "10%"  # 0.1005
    # shown beside the bar, not over it (where it met the bar's colour)
    assert panel.percents["sad"].text() == "39%" and not panel.bars["sad"].isTextVisible()
    panel.set_emotion(_event("sad", "sad", 0.58 - 1e-12, True))  # 0.58 held as 0.579999...
    assert panel.detail_label.text().startswith("58% confidence\n") and panel.bars["sad"].text() == "58%"


def test_the_level_readout_follows_the_input_below_the_meter_floor(qtbot):
    panel = NowPanel(LABELS, emotion_colors(LABELS))
    qtbot.addWidget(panel)
    panel.set_level(0.1)
    assert panel.level_label.text() == "-20 dBFS" and panel.level_meter.value() == 400
    panel.set_level(10 ** (-72 / 20))  # under the meter's -60 dB floor: empty bar, the number still moves
    assert panel.level_label.text() == "-72 dBFS" and panel.level_meter.value() == 0
    panel.set_level(0.0)  # the input ended or is digital silence
    assert panel.level_label.text() == "-∞ dBFS" and panel.level_meter.value() == 0


def test_every_emotion_word_is_readable_on_light_and_dark_windows(qtbot):
    """The palette's yellow on a light window (1.2:1) and its blue on a dark one (2.8:1) were hard to
    read as the panel's big word; the word is lightened or darkened to at least 3:1 (WCAG, large text)."""
    from PySide6.QtGui import QColor, QPalette

    from realtime_ser.gui.palette import contrast_ratio

    colors = emotion_colors(LABELS)
    panel = NowPanel(LABELS, colors)
    qtbot.addWidget(panel)
    for window in ("#EFEFEF", "#2A2A2E"):
        palette = panel.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(window))
        panel.setPalette(palette)
        for label in LABELS + ["uncertain"]:
            panel.set_emotion(_event(label, LABELS[0] if label == "uncertain" else label, 0.8, True))
            shown = QColor(panel.emotion_label.styleSheet().removeprefix("color: ").rstrip(";"))
            assert contrast_ratio(shown, QColor(window)) >= 3.0, (window, label, shown.name())
            if contrast_ratio(colors[label], QColor(window)) >= 3.0:
                assert shown == colors[label]  # readable colours are left as they are
    assert colors["surprised"].name() == "#f0e442"  # the bars and swatches keep the palette's own colour


def test_the_headings_read_as_text_on_light_and_dark_windows(qtbot):
    """"Now" and "This session" were in the palette's mid grey (1.7:1): they looked disabled."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QLabel

    from realtime_ser.gui.palette import contrast_ratio

    panel = NowPanel(LABELS, emotion_colors(LABELS))
    qtbot.addWidget(panel)
    panel.show()
    for window, text in (("#EFEFEF", "#000000"), ("#202124", "#E8EAED")):
        palette = panel.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(window))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
        panel.setPalette(palette)
        for words in ("Now", "This session"):
            heading, = [label for label in panel.findChildren(QLabel) if label.text() == words]
            image = heading.grab().toImage()
            drawn = max(contrast_ratio(image.pixelColor(x, y), QColor(window))
                        for x in range(image.width()) for y in range(image.height()))
            assert drawn >= 4.5, (window, words, drawn)


def test_no_speech_in_a_recording_shows_an_idle_panel_with_that_line(qtbot):
    panel = NowPanel(LABELS, emotion_colors(LABELS))
    qtbot.addWidget(panel)
    panel.show()
    assert panel.detail_label.text() == "waiting for speech" and not panel.no_speech
    panel.set_emotion(_event("sad", "sad", 0.8, False))  # a partial, then the recording ended
    panel.set_speaking(True)
    panel.show_no_speech()
    assert panel.no_speech and panel.event is None
    assert panel.emotion_label.text() == "—" and panel.emotion_label.styleSheet() == ""
    assert panel.detail_label.text() == "no speech in this recording"
    assert all(bar.value() == 0 and bar.text() == "" for bar in panel.bars.values())
    assert all(label.text() == "" for label in panel.percents.values())
    assert panel.summary_label.text() == "no utterances" and not panel.speaking
    panel.show_no_speech("no speech in this session")
    assert panel.detail_label.text() == "no speech in this session"
    panel.set_emotion(None)  # a new source: waiting for speech again
    assert panel.detail_label.text() == "waiting for speech" and not panel.no_speech
    panel.show_no_speech()
    panel.set_emotion(_event("happy", "happy", 0.9, True))  # speech after all
    assert panel.emotion_label.text() == "happy" and not panel.no_speech
