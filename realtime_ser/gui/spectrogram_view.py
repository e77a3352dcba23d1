"""Log-mel spectrogram of the last ~10 s, scrolling in step with the waveform."""

from __future__ import annotations

import librosa
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from realtime_ser.gui.display_buffers import MelSpectrogramRing
from realtime_ser.gui.waveform_view import LEFT_AXIS_WIDTH, FittedLabelsAxis

#: dB range shown; log-mel of float audio in [-1, 1] (ref 1.0): speech peaks near +20 dB.
LEVELS = (-70.0, 25.0)


class SpectrogramView(pg.PlotWidget):
    def __init__(self, ring: MelSpectrogramRing, colors: dict[str, str], parent=None):
        super().__init__(parent=parent, background=colors["background"],
                         axisItems={"left": FittedLabelsAxis("left")})
        self.ring = ring
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.setLabel("left", "kHz")
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        item.setLabel("bottom", "seconds before now")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.setYRange(0, ring.n_mels, padding=0)
        self._set_frequency_ticks()
        self._rect = QRectF()
        seconds = ring.frames * ring.params.hop_length / ring.params.sample_rate
        self.setXRange(-seconds, 0.0, padding=0)  # fixed: the axis is never redrawn while scrolling

    def _set_frequency_ticks(self) -> None:
        p = self.ring.params
        centers = librosa.mel_frequencies(n_mels=p.n_mels + 2, fmin=p.fmin, fmax=p.fmax)[1:-1]
        ticks = []
        # Most telling first (a short plot labels those it has room for); 6 kHz, not 7: 7 kHz sits
        # at the very top of the range (fmax 7.6 kHz), where its label was cut off.
        for khz in (1, 4, 0.5, 2, 6):
            idx = float(np.interp(khz * 1000.0, centers, np.arange(p.n_mels)))
            ticks.append((idx + 0.5, f"{khz:g}"))
        self.getPlotItem().getAxis("left").setTicks([ticks])

    def refresh(self, now: float) -> None:
        image = self.ring.update_display()
        self.image.setImage(image, autoLevels=False, levels=LEVELS)
        seconds = self.ring.frames * self.ring.params.hop_length / self.ring.params.sample_rate
        end = self.ring.end_time
        self._rect.setRect(end - now - seconds, 0.0, seconds, float(self.ring.n_mels))
        self.image.setRect(self._rect)
