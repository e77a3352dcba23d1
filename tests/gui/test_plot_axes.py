"""The level and frequency axes of the waveform and spectrogram (real window, offscreen): every
tick label is drawn whole inside its plot and clear of the others, at the usual and the smallest size."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter


def _labels(plot):
    """The left axis's tick labels as drawn: (text, rectangle in the plot widget's coordinates)."""
    axis = plot.getPlotItem().getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(text, plot.mapFromScene(axis.mapRectToScene(rect)).boundingRect()) for rect, _, text in texts]


def test_edge_tick_labels_are_not_cut_off_by_the_plots_edges(make_window, qtbot):
    w = make_window(resize=False)
    for size, waveform_expected, spectrogram_expected in (((1366, 768), {"0.5", "0", "-0.5"}, {"1", "2", "4", "6"}),
                                                          ((1000, 540), {"0"}, {"1"})):
        w.resize(*size)
        w.waveform.reset_gain()  # the full -1..1 range, its edges ticks "1.0" and "-1.0"
        qtbot.wait(50)
        for plot, expected in ((w.waveform, waveform_expected), (w.spectrogram, spectrogram_expected)):
            labels = _labels(plot)
            inside = plot.rect()
            for text, rect in labels:
                assert inside.contains(rect), (size, text, rect, inside)  # whole, not cut in half
            rects = [rect for _, rect in labels]
            assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), (size, labels)
            assert expected <= {text for text, _ in labels}, (size, labels)
