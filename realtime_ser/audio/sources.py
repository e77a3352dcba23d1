"""Audio sources: a microphone and an in-memory array, behind one pull interface (a file:
audio.file_source; a WAV stream on stdin: audio.pipe_source).

Every source delivers mono float32 blocks at the model rate (16 kHz) from
:meth:`AudioSource.read`, so the pipeline cannot tell a paced file replay from
a live microphone.  A source also reports, without raising:

* :meth:`AudioSource.take_gap` -- model-rate samples lost since the last call
  (ring-buffer overruns), so the pipeline can keep its clock right and close an
  utterance that now has a hole in it;
* :meth:`AudioSource.take_reset` -- the stream jumped (seek), with the new position;
* :meth:`AudioSource.pop_status` -- StatusEvents for the user (device lost, reconnected).

sounddevice is imported lazily: a machine without PortAudio can still analyse
files, and ``listen`` says clearly that PortAudio is missing.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import soxr

from realtime_ser.audio.devices import (
    DeviceInfo, close_stream, load_sounddevice, open_stream, rescan_devices, resolve_device,
)
from realtime_ser.audio.io import mono_from_array
from realtime_ser.audio.pulse_sources import default_output, has_source
from realtime_ser.audio.ringbuffer import RingBuffer
from realtime_ser.audio.system_audio import DEFAULT_MONITOR, is_playback_capture, pulse_source
from realtime_ser.errors import DeviceError
from realtime_ser.pipeline.events import StatusEvent

MODEL_RATE = 16000
#: How often the audio server is asked which output is the default (System audio follows headphones
#: plugged in mid-call) and whether a source recorded by name is still there (a USB microphone pulled out).
SERVER_CHECK_INTERVAL_S = 1.0

# What a live input says when it goes and comes back (StatusEvents: the terminal, the window's banner
# and a session's events.jsonl show them). The device keeps being retried meanwhile: not a fatal error.
DEVICE_LOST = " stopped delivering audio (unplugged?); trying to reconnect"  # after "audio device 'NAME'"
DEVICE_RECONNECTED = "audio device reconnected: "  # on the same device or the default input
DEVICE_BACK = "audio device back: "  # on the one asked for again, after the default stood in


def says_input_lost(message: str) -> bool:
    return message.startswith("audio device ") and message.endswith(DEVICE_LOST)


def says_input_back(message: str) -> bool:
    return message.startswith((DEVICE_RECONNECTED, DEVICE_BACK))


class AudioSource:
    """Pull interface shared by all sources (see module docstring)."""

    sample_rate: int = MODEL_RATE
    #: Records what the computer plays (system audio), where silence is normal rather than a muted input.
    captures_playback: bool = False
    name: str = "source"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        """Next model-rate block (possibly empty after ``timeout`` s), or None at end of stream."""
        raise NotImplementedError

    #: Of the gap :meth:`take_gap` last returned, the samples lost while the device was away (its
    #: reconnect status says so): not audio dropped by an overrun.
    away_in_last_gap: int = 0

    def take_gap(self) -> int:
        return 0

    def take_reset(self) -> int | None:
        return None

    def pop_status(self) -> list[StatusEvent]:
        return []

    @property
    def dropped(self) -> int:
        """Samples lost to overruns (at the capture rate)."""
        return 0

    @property
    def overruns(self) -> int:
        return 0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()



class ArraySource(AudioSource):
    """A recording already in memory (a script's array), delivered as fast as it is read.

    The array is checked and brought to 16 kHz mono up front (:func:`mono_from_array`); reads then
    come in the half-second blocks an unpaced :class:`FileSource` gives, so an array and the file it
    came from take the same path through the pipeline.
    """

    BLOCK = MODEL_RATE // 2

    def __init__(self, audio, sample_rate: int, channel: int | None = None, name: str = "audio"):
        self.name = name
        self._audio = mono_from_array(audio, sample_rate, MODEL_RATE, channel, name)
        self._pos = 0
        self._started = False

    def start(self) -> None:
        self._started = True

    def stop(self) -> None:
        self._started = False

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        if not self._started or self._pos >= self._audio.size:
            return None
        out = self._audio[self._pos:self._pos + self.BLOCK]
        self._pos += out.size
        return out


# -- microphone -----------------------------------------------------------------------------


class MicrophoneSource(AudioSource):
    """Captures at the device's native rate; the callback only copies into a ring buffer.

    Resampling to 16 kHz happens in :meth:`read`, on the consumer's thread.  If the
    device stops delivering audio (unplugged, audio server gone) the source closes the
    stream, reports a StatusEvent and keeps trying to reopen the same device, falling
    back to the default input, every ``reconnect_interval`` seconds; ``read`` returns
    empty blocks meanwhile, so the pipeline keeps running.
    """

    def __init__(
        self,
        device: int | str | None = None,
        block_ms: float = 20.0,
        buffer_seconds: float = 2.0,
        stall_timeout: float = 1.0,
        reconnect_interval: float = 1.0,
        channel: int | None = None,
    ):
        self.requested = device
        self.channel = channel  # 1-based input channel of a multi-channel interface; None: the first
        self.block_ms = block_ms
        self.buffer_seconds = buffer_seconds
        self.stall_timeout = stall_timeout
        self.reconnect_interval = reconnect_interval
        self.info: DeviceInfo | None = None
        self.capture_rate = 0
        self.name = "microphone"
        self._stream = None
        self._ring: RingBuffer | None = None
        self._resampler = None
        self._status: list[StatusEvent] = []
        self._status_lock = threading.Lock()
        self._gap_native = 0
        self._gap_seconds = 0.0  # a lost device's silence, counted on the clock (its rate may change)
        self._lost_since = 0.0  # when the lost device last delivered audio
        self._dropped_before = 0  # dropped samples of rings from earlier connections
        self._seen_dropped = 0
        self._callback_overflows = 0
        self._last_callback = 0.0
        self._samples_out = 0
        self._lost = False
        self._next_retry = 0.0
        self._running = False
        self.reconnects = 0
        self._followed_output: str | None = None  # System audio: the output whose monitor is recorded
        self._next_follow = 0.0
        self._watched_source: str | None = None  # a server source recorded by name, while it is there
        self._next_source_check = 0.0
        self._wanted_source: str | None = None  # the server source asked for, to go back to after a fallback

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the device; raises DeviceError if it is missing or cannot capture."""
        self._open(resolve_device(self.requested))
        self._wanted_source = self._watched_source
        self._running = True

    def _open(self, info: DeviceInfo) -> None:
        sd = load_sounddevice()
        if self.channel is not None and self.channel > info.max_input_channels:
            n = info.max_input_channels
            held = "one input channel" if n == 1 else f"{n} input channels"
            raise DeviceError(f"audio device {info.name!r} has {held}, so there is no channel {self.channel}")
        # A chosen channel is read from a stream of at least two: asked for one, the audio server
        # (PulseAudio, PipeWire, ALSA's plug devices) would mix a stereo input down, left and right.
        # A server source is opened with all its channels: any other count is remapped, not cut.
        if self.channel is None:
            channels = 1
        elif info.source_channels is not None:
            channels = info.source_channels
        else:
            channels = min(info.max_input_channels, max(self.channel, 2))
        column = 0 if self.channel is None else self.channel - 1
        rate = int(info.default_samplerate) or MODEL_RATE
        ring = RingBuffer(int(rate * self.buffer_seconds))
        self._last_callback = time.monotonic()

        def callback(indata, frames, time_info, status):  # audio thread: copy and count only
            if status.input_overflow:
                self._callback_overflows += 1
            ring.write(indata[:, column])
            self._last_callback = time.monotonic()

        def start_stream():
            with pulse_source(info.pulse_source):
                stream = sd.InputStream(
                    device=info.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="float32",
                    blocksize=int(rate * self.block_ms / 1000),
                    callback=callback,
                )
                stream.start()
            return stream

        try:
            stream = open_stream(start_stream)
        except (sd.PortAudioError, ValueError) as exc:
            if info.pulse_source is not None:
                raise DeviceError(f"cannot record {info.name} (PulseAudio/PipeWire source {info.pulse_source!r}: "
                                  "see `pactl list short sources`)") from None
            raise DeviceError(f"cannot open audio device {info.index} ({info.name}): {exc}") from None
        self._stream = stream
        self._ring = ring
        self._seen_dropped = 0
        self.info = info
        self.capture_rate = rate
        self.name = info.name if self.channel is None else f"{info.name} (channel {self.channel})"
        self._resampler = (
            None if rate == MODEL_RATE else soxr.ResampleStream(rate, MODEL_RATE, 1, dtype="float32", quality="HQ")
        )
        if info.pulse_source == DEFAULT_MONITOR:
            output = default_output()
            self._followed_output = output[0] if output else None
            self._next_follow = time.monotonic() + SERVER_CHECK_INTERVAL_S
        # The server moves the stream of a source that goes away to the default input and says
        # nothing (module-rescue-streams): audio goes on, from another microphone. So ask.
        self._watched_source = info.pulse_source if info.pulse_source != DEFAULT_MONITOR else None
        self._next_source_check = time.monotonic() + SERVER_CHECK_INTERVAL_S

    def stop(self) -> None:
        self._running = False
        self._close()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            close_stream(stream)
        if self._ring is not None:
            self._dropped_before += self._ring.dropped
            self._ring = None

    # -- consumer side ---------------------------------------------------------------------
    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        if not self._running:
            return None
        if self._lost:
            self._try_reconnect()
            if self._lost:
                time.sleep(min(timeout, 0.05))
                return np.zeros(0, dtype=np.float32)
        ring = self._ring
        if self._wanted_source_back():
            return self._go_back_to_wanted_source(ring)
        if self._source_unplugged():
            # Unread audio is the rescuing input's, or this one's last: a gap on the clock either way.
            self._gap_seconds += ring.read_available() / self.capture_rate
            self._mark_lost()
            return np.zeros(0, dtype=np.float32)
        deadline = time.monotonic() + timeout
        while ring.read_available() == 0:
            if self._stalled():
                self._mark_lost()
                return np.zeros(0, dtype=np.float32)
            if time.monotonic() >= deadline:
                return np.zeros(0, dtype=np.float32)
            time.sleep(min(0.01, timeout))
        native = ring.read()
        new_drops = ring.dropped - self._seen_dropped
        if new_drops:
            self._seen_dropped += new_drops
            self._gap_native += new_drops
        switched = self._followed_output is not None and self._output_switched()
        if switched:
            native = np.concatenate([native, ring.read()])  # what arrived while the server was asked
        block = native if self._resampler is None else self._resampler.resample_chunk(native)
        if switched:
            self._open_new_output(switched)
        return block

    def _output_switched(self) -> str | None:
        """System audio: the description of the default output if people switched to another one
        (headphones plugged in, a call app's own device) since the stream opened; asked once a second."""
        now = time.monotonic()
        if now < self._next_follow:
            return None
        self._next_follow = now + SERVER_CHECK_INTERVAL_S
        output = default_output()
        return output[1] if output is not None and output[0] != self._followed_output else None

    def _source_check_due(self) -> bool:
        """The server is asked about its sources at most once a second (it is a round trip)."""
        now = time.monotonic()
        if now < self._next_source_check:
            return False
        self._next_source_check = now + SERVER_CHECK_INTERVAL_S
        return True

    def _source_unplugged(self) -> bool:
        """A server source recorded by name has gone from the server."""
        return self._watched_source is not None and self._source_check_due() \
            and has_source(self._watched_source) is False

    def _wanted_source_back(self) -> bool:
        """On the default input after the server source asked for went away: it is there again (a USB
        microphone plugged back in). Else the session would go on recording the other microphone for good."""
        return self._wanted_source is not None and self._watched_source != self._wanted_source \
            and self._source_check_due() and has_source(self._wanted_source) is True

    def _go_back_to_wanted_source(self, ring) -> np.ndarray:
        """Switch back from the fallback to the source asked for (opened first: if it fails, the
        fallback goes on); what the fallback still held is a gap on the clock."""
        old_stream, old_rate = self._stream, self.capture_rate
        try:
            self._open(resolve_device(f"pulse:{self._wanted_source}"))
        except DeviceError:
            return np.zeros(0, dtype=np.float32)  # asked again in a second
        self._gap_seconds += ring.read_available() / old_rate
        self._dropped_before += ring.dropped
        close_stream(old_stream)
        self.reconnects += 1
        self._post("info", f"{DEVICE_BACK}{self.name}")
        return np.zeros(0, dtype=np.float32)

    def _open_new_output(self, description: str) -> None:
        """Record the new default output's monitor. A block arriving between the old ring's last
        read and its stream's closing is counted as a gap, so the clock stays right."""
        ring = self._ring
        self._close()
        if ring is not None:
            self._gap_native += ring.read_available()
        try:
            self._open(resolve_device(self.info.spec))
        except DeviceError:
            self._mark_lost()  # retried as for an unplugged device
            return
        self._post("info", f"System audio now records what plays on {description}")

    def _stalled(self) -> bool:
        stream = self._stream
        if stream is None:
            return True
        if not stream.active:
            return True
        return time.monotonic() - self._last_callback > self.stall_timeout

    def _mark_lost(self) -> None:
        name = self.name
        self._lost_since = self._last_callback or time.monotonic()
        self._close()
        self._lost = True
        self._next_retry = time.monotonic() + self.reconnect_interval
        self._post("error", f"audio device {name!r}{DEVICE_LOST}")

    def _try_reconnect(self) -> None:
        now = time.monotonic()
        if now < self._next_retry:
            return
        self._next_retry = now + self.reconnect_interval
        try:  # re-enumerate: PortAudio only sees devices present at initialisation
            rescan_devices()
        except DeviceError:  # a hung audio server too: tried again after the next interval
            return
        previous = self.info.spec if self.info else None
        # What is played never falls back to the microphone: that would analyse the wrong voice.
        fallbacks = (previous,) if self.captures_playback else (previous, None)
        for candidate in fallbacks:
            try:
                info = resolve_device(candidate)
                self._open(info)
            except DeviceError:
                continue
            self._lost = False
            self.reconnects += 1
            # The time without audio is a gap: the stream's clock (results, markers, a recording's
            # silence) stays with the wall clock, as for audio dropped while connected.
            away = max(0.0, time.monotonic() - self._lost_since)
            self._gap_seconds += away
            self._post("info", f"{DEVICE_RECONNECTED}{info.name} (after {away:.1f} s without audio)")
            return

    def _post(self, level: str, message: str) -> None:
        with self._status_lock:
            self._status.append(StatusEvent(level, message, 0.0))

    def pop_status(self) -> list[StatusEvent]:
        with self._status_lock:
            out, self._status = self._status, []
        return out

    def take_gap(self) -> int:
        gap, self._gap_native = self._gap_native, 0
        if gap and self.capture_rate:
            gap = int(round(gap * MODEL_RATE / self.capture_rate))
        seconds, self._gap_seconds = self._gap_seconds, 0.0
        self.away_in_last_gap = int(round(seconds * MODEL_RATE))
        return gap + self.away_in_last_gap

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def captures_playback(self) -> bool:
        """Recording what is played (a monitor), where silence means nothing plays, not a muted input."""
        return is_playback_capture(self.info.spec if self.info is not None else self.requested)

    @property
    def dropped(self) -> int:
        return self._dropped_before + (self._ring.dropped if self._ring is not None else 0)

    @property
    def overruns(self) -> int:
        ring_overruns = self._ring.overruns if self._ring is not None else 0
        return self._callback_overflows + ring_overruns
