"""Audio sources: a microphone, a file and an in-memory array, behind one pull interface.

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

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from realtime_ser.audio.io import audio_info, check_channel, iter_audio_blocks, mono_from_array
from realtime_ser.audio.pulse_sources import default_output, list_pulse_inputs
from realtime_ser.audio.ringbuffer import RingBuffer
from realtime_ser.audio.system_audio import (
    DEFAULT_MONITOR,
    PULSE_DEVICE,
    PULSE_PREFIX,
    SOURCE_UNAVAILABLE,
    SYSTEM_AUDIO_NAME,
    UNAVAILABLE,
    is_playback_capture,
    pulse_source,
    pulse_source_named,
    wants_system_audio,
)
from realtime_ser.errors import DeviceError
from realtime_ser.pipeline.events import StatusEvent

MODEL_RATE = 16000
#: How often System audio asks the server which output is the default (headphones plugged in mid-call).
FOLLOW_OUTPUT_INTERVAL_S = 1.0


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


# -- devices --------------------------------------------------------------------------------


def load_sounddevice():
    """Import sounddevice, turning a missing PortAudio into a DeviceError."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise DeviceError(
            f"PortAudio is not available ({exc}); install libportaudio2 to use a microphone"
        ) from None
    return sd


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


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    #: Record this PulseAudio/PipeWire source through the ALSA ``pulse`` device (see audio.system_audio).
    pulse_source: str | None = None
    #: The source's own channel count, where the server told it (``max_input_channels`` is then that
    #: count, not the 32 the ``pulse`` device claims); a stream of exactly this many keeps its layout.
    source_channels: int | None = None

    @property
    def is_input(self) -> bool:
        return self.max_input_channels > 0

    @property
    def spec(self) -> str:
        """What ``--device`` and the app's settings call it: the name, or ``pulse:SOURCE`` for a
        PulseAudio/PipeWire input (its description can change; the source's name does not)."""
        if self.pulse_source is None or self.pulse_source == DEFAULT_MONITOR:
            return self.name
        return PULSE_PREFIX + self.pulse_source

    @property
    def offers_channel_choice(self) -> bool:
        """Whether choosing one input channel means something: an interface's inputs or a stereo
        source, not ALSA's virtual devices (``pulse``, ``default``), which claim 32 or more."""
        n = self.source_channels if self.pulse_source is not None else self.max_input_channels
        return n is not None and 2 <= n <= MAX_CHOSEN_CHANNELS and self.name not in VIRTUAL_ALSA_DEVICES


#: Interfaces have up to a few dozen inputs; ALSA's virtual devices claim 32 to 128 channels.
MAX_CHOSEN_CHANNELS = 24
VIRTUAL_ALSA_DEVICES = ("default", "sysdefault", "pulse", "pipewire", "jack", "dsnoop")


def _through_pulse(pulse: DeviceInfo, source: str, name: str, channels: int | None = None) -> DeviceInfo:
    return DeviceInfo(pulse.index, name, pulse.hostapi, channels or pulse.max_input_channels, 0,
                      pulse.default_samplerate, False, source, channels)


def list_devices(inputs_only: bool = False) -> list[DeviceInfo]:
    """All PortAudio devices (or only those that can capture), then *System audio* and the audio
    server's inputs under their own names (where ALSA's ``pulse`` device can record them)."""
    sd = load_sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices ({exc})") from None
    out = []
    for i, d in enumerate(devices):
        info = DeviceInfo(
            index=i,
            name=d["name"],
            hostapi=hostapis[d["hostapi"]]["name"],
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default_input=(i == default_in),
        )
        if info.is_input or not inputs_only:
            out.append(info)
    pulse = [d for d in out if d.name == PULSE_DEVICE and d.is_input]
    if pulse:
        out.append(_through_pulse(pulse[0], DEFAULT_MONITOR, SYSTEM_AUDIO_NAME))
        # Monitors stay out of the list: System audio is the one people want (--device pulse:NAME.monitor
        # still records any other).
        for src in list_pulse_inputs() or []:
            if not src.is_monitor:
                out.append(_through_pulse(pulse[0], src.name, src.description, src.channels))
    return out


def resolve_device(device: int | str | None) -> DeviceInfo:
    """Find an input device by index, exact name or unique name fragment (None: the default).

    ``system`` (or *System audio*'s listed name) records what the computer plays, ``pulse:SOURCE``
    one PulseAudio/PipeWire source; both go through ALSA's ``pulse`` device.
    """
    devices = list_devices()
    if wants_system_audio(device) or pulse_source_named(device):
        pulse = [d for d in devices if d.name == PULSE_DEVICE and d.is_input and d.pulse_source is None]
        if not pulse:
            raise DeviceError(UNAVAILABLE if wants_system_audio(device) else SOURCE_UNAVAILABLE)
        if wants_system_audio(device):
            return _through_pulse(pulse[0], DEFAULT_MONITOR, SYSTEM_AUDIO_NAME)
        return _pulse_input(pulse[0], pulse_source_named(device))
    devices = [d for d in devices if d.pulse_source is None]
    inputs = [d for d in devices if d.is_input]
    if isinstance(device, str) and device.strip().lstrip("-").isdigit():
        device = int(device)
    if device is None:
        default = [d for d in inputs if d.is_default_input]
        if default:
            return default[0]
        if inputs:
            return inputs[0]
        raise DeviceError("no audio input device found (is a microphone connected and allowed?)")
    if isinstance(device, int):
        match = [d for d in devices if d.index == device]
        if not match:
            raise DeviceError(f"audio device {device} does not exist (see `realtime-ser devices`)")
        if not match[0].is_input:
            raise DeviceError(f"audio device {device} ({match[0].name}) has no input channels")
        return match[0]
    exact = [d for d in devices if d.name == device]
    fragment = [d for d in devices if str(device).lower() in d.name.lower()]
    for candidates in (exact, fragment):
        usable = [d for d in candidates if d.is_input]
        if len(usable) == 1 or (usable and candidates is exact):
            return usable[0]
        if len(usable) > 1:
            names = ", ".join(f"{d.index}: {d.name}" for d in usable)
            raise DeviceError(f"audio device name {device!r} is ambiguous ({names}); use its index")
        if candidates:
            raise DeviceError(f"audio device {candidates[0].name!r} has no input channels")
    raise DeviceError(f"no audio device named {device!r} (see `realtime-ser devices`)")


def _pulse_input(pulse: DeviceInfo, name: str) -> DeviceInfo:
    """``pulse:NAME`` under the source's description and with its real channel count; where the
    server cannot be asked (no libpulse), as named, for the stream's opening to judge."""
    sources = list_pulse_inputs()
    if sources is None:
        return _through_pulse(pulse, name, PULSE_PREFIX + name)
    match = [s for s in sources if s.name == name]
    if not match:
        raise DeviceError(f"the audio server has no input named {name!r} (see `realtime-ser devices`, "
                          "or `pactl list short sources` for monitors)")
    return _through_pulse(pulse, name, match[0].description, match[0].channels)


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

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the device; raises DeviceError if it is missing or cannot capture."""
        self._open(resolve_device(self.requested))
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

        try:
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
            self._next_follow = time.monotonic() + FOLLOW_OUTPUT_INTERVAL_S

    def stop(self) -> None:
        self._running = False
        self._close()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # a vanished device may fail to close; it is gone either way
                pass
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
        self._next_follow = now + FOLLOW_OUTPUT_INTERVAL_S
        output = default_output()
        return output[1] if output is not None and output[0] != self._followed_output else None

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
        self._close()
        self._lost = True
        self._next_retry = time.monotonic() + self.reconnect_interval
        self._post("error", f"audio device {name!r} stopped delivering audio (unplugged?); trying to reconnect")

    def _try_reconnect(self) -> None:
        now = time.monotonic()
        if now < self._next_retry:
            return
        self._next_retry = now + self.reconnect_interval
        sd = load_sounddevice()
        try:  # re-enumerate: PortAudio only sees devices present at initialisation
            sd._terminate()
            sd._initialize()
        except Exception:
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
            self._post("info", f"audio device reconnected: {info.name}")
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
            return int(round(gap * MODEL_RATE / self.capture_rate))
        return gap

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


# -- file -----------------------------------------------------------------------------------


class FileSource(AudioSource):
    """Decodes any supported file (format, rate, channels) to 16 kHz mono.

    ``realtime=False`` delivers as fast as the consumer reads (analysis);
    ``realtime=True`` releases ``block_ms`` blocks at the pace of a microphone
    (replay, latency benchmarks).  ``speed`` > 1 replays faster than real time; it must be
    finite and > 0 (a ValueError: front ends check what users type themselves).
    ``pause``/``resume``/``seek`` are safe to call from another thread (a GUI).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        realtime: bool = False,
        loop: bool = False,
        block_ms: float = 20.0,
        speed: float = 1.0,
        decode_seconds: float = 1.0,
        channel: int | None = None,
    ):
        self.path = Path(path)
        self.channel = channel  # 1-based; None mixes all channels
        self.realtime = realtime
        self.loop = loop
        self.block = max(1, int(MODEL_RATE * block_ms / 1000))
        self.speed = float(speed)
        if not (self.speed > 0 and math.isfinite(self.speed)):  # the pacing divides by it
            raise ValueError(f"FileSource speed must be a finite number > 0, not {speed!r}")
        self.decode_seconds = decode_seconds if realtime else max(decode_seconds, 2.0)
        self.name = self.path.name if channel is None else f"{self.path.name} (channel {channel})"
        self._info = None  # duration and channels, read once, when first needed
        self._lock = threading.Lock()
        self._blocks = None
        self._buf = np.zeros(0, dtype=np.float32)
        self._pos = 0  # samples delivered since the current origin
        self._origin = 0  # sample position of the last seek/start
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._reset: int | None = None
        self._ended = False
        self._started = False

    @property
    def duration(self) -> float:
        if self._info is None:
            self._info = audio_info(self.path)
        return self._info.duration

    @property
    def position(self) -> float:
        """Seconds of the file delivered so far."""
        return (self._origin + self._pos) / MODEL_RATE

    def start(self) -> None:
        _ = self.duration  # raises AudioFileError early for a missing or undecodable file
        check_channel(self.path, self._info.channels, self.channel)  # and for a channel it lacks
        with self._lock:
            self._open_at(self._reset or 0)  # a seek before the start: start there (the reset stays for the pipeline)
            self._started = True

    def stop(self) -> None:
        with self._lock:
            self._blocks = None
            self._ended = True

    def _open_at(self, sample: int) -> None:
        self._blocks = iter_audio_blocks(
            self.path, MODEL_RATE, self.decode_seconds, start_seconds=sample / MODEL_RATE, channel=self.channel
        )
        self._buf = np.zeros(0, dtype=np.float32)
        self._origin = sample
        self._pos = 0
        self._t0 = time.monotonic()
        if self._paused_at is not None:
            self._paused_at = self._t0
        self._ended = False

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                self._t0 += time.monotonic() - self._paused_at
                self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` (clamped to the file); the pipeline sees a reset to that time.
        Before :meth:`start` it only records where to start, and start opens the file there, once."""
        sample = int(max(0.0, min(float(seconds), self.duration)) * MODEL_RATE)
        with self._lock:
            if self._started:
                self._open_at(sample)
            else:
                self._origin, self._pos = sample, 0  # the position reads as the sought one already
            self._reset = sample

    def take_reset(self) -> int | None:
        with self._lock:
            r, self._reset = self._reset, None
        return r

    def _fill(self, n: int) -> bool:
        """Decode until ``n`` samples are buffered; False when the file is exhausted."""
        while self._buf.size < n:
            try:
                nxt = next(self._blocks) if self._blocks is not None else None
            except StopIteration:
                nxt = None
            if nxt is None:
                if self.loop and self._origin + self._pos + self._buf.size > 0:
                    self._blocks = iter_audio_blocks(self.path, MODEL_RATE, self.decode_seconds, channel=self.channel)
                    continue
                return False
            self._buf = np.concatenate([self._buf, nxt]) if self._buf.size else nxt
        return True

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._ended or not self._started:
                    return None
                if self._paused_at is not None:
                    wait = 0.02
                else:
                    if self.realtime:
                        due = (time.monotonic() - self._t0) * self.speed * MODEL_RATE
                        if due < self._pos + self.block:
                            wait = (self._pos + self.block - due) / (MODEL_RATE * self.speed)
                        else:
                            wait = 0.0
                        n = self.block
                    else:
                        wait, n = 0.0, self.block * 25  # 0.5 s blocks when not paced
                    if wait <= 0:
                        more = self._fill(n)
                        if not more and self._buf.size == 0:
                            self._ended = True
                            return None
                        out, self._buf = self._buf[:n], self._buf[n:]
                        self._pos += out.size
                        return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return np.zeros(0, dtype=np.float32)
            time.sleep(min(wait, remaining))
