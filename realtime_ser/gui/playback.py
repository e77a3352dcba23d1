"""Audible replay: blocks the pipeline consumes are played on the default output (Qt-free).

The pipeline's audio listener writes into a ring buffer; the sounddevice
output callback only copies out of it (silence when it runs dry), so playback
can never stall the pipeline.
"""

from __future__ import annotations

import numpy as np
import sounddevice as sd

from realtime_ser.audio.ringbuffer import RingBuffer
from realtime_ser.errors import DeviceError


class Player:
    def __init__(self, sample_rate: int, buffer_seconds: float = 2.0):
        self.sample_rate = sample_rate
        self.ring = RingBuffer(int(sample_rate * buffer_seconds))
        self.stream: sd.OutputStream | None = None

    def _callback(self, outdata, frames, time, status) -> None:  # noqa: ARG002 (PortAudio signature)
        data = self.ring.read(frames)
        outdata[: data.size, 0] = data
        outdata[data.size :, 0] = 0.0

    def start(self) -> None:
        try:
            self.stream = sd.OutputStream(samplerate=self.sample_rate, channels=1, dtype="float32",
                                          callback=self._callback, blocksize=0, latency="low")
            self.stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.stream = None
            raise DeviceError(f"audio output: cannot play the replay ({str(exc).splitlines()[0]})") from None

    def write(self, block: np.ndarray) -> None:
        self.ring.write(np.asarray(block, dtype=np.float32))

    def stop(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.stop()
            stream.close()
