"""Sound out (Qt-free): audible replay, and single utterances played back on request.

Audible replay: the pipeline's audio listener writes into a ring buffer; the
sounddevice output callback only copies out of it (silence when it runs dry),
so playback can never stall the pipeline.  A single utterance is a short array
known in advance, which ``sounddevice.play`` already plays without blocking.
"""

from __future__ import annotations

import sys

import numpy as np

# sounddevice, or a DeviceError when PortAudio is missing or the audio server does not answer
from realtime_ser.audio.devices import ask_portaudio, load_sounddevice, open_stream
from realtime_ser.audio.ringbuffer import RingBuffer
from realtime_ser.errors import DeviceError


class Player:
    def __init__(self, sample_rate: int, buffer_seconds: float = 2.0):
        self.sample_rate = sample_rate
        self.ring = RingBuffer(int(sample_rate * buffer_seconds))
        self.stream = None  # a sounddevice.OutputStream while playing

    def _callback(self, outdata, frames, time, status) -> None:  # noqa: ARG002 (PortAudio signature)
        data = self.ring.read(frames)
        outdata[: data.size, 0] = data
        outdata[data.size :, 0] = 0.0

    def start(self) -> None:
        sd = load_sounddevice()

        def start_stream():
            stream = sd.OutputStream(samplerate=self.sample_rate, channels=1, dtype="float32",
                                     callback=self._callback, blocksize=0, latency="low")
            stream.start()
            return stream

        try:
            self.stream = open_stream(start_stream)
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


def play_clip(audio: np.ndarray, sample_rate: int) -> None:
    """Play ``audio`` once on the default output without blocking (a new clip replaces one still playing)."""
    sd = load_sounddevice()
    try:  # a hung audio server: an error after the deadline, not a frozen window
        ask_portaudio(lambda: sd.play(np.asarray(audio, dtype=np.float32), sample_rate))
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(f"audio output: cannot play the utterance ({str(exc).splitlines()[0]})") from None


def clip_playing() -> bool:
    """True while a clip started by :func:`play_clip` is still sounding."""
    sd = sys.modules.get("sounddevice")  # not imported: nothing can be playing
    try:
        return sd is not None and bool(sd.get_stream().active)
    except (RuntimeError, sd.PortAudioError):  # nothing played yet; or PortAudio restarted since (device rescan)
        return False


def stop_clip() -> None:
    """Stop a clip still playing (nothing to do when none is)."""
    if clip_playing():
        sys.modules["sounddevice"].stop()
