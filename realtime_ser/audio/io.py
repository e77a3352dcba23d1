"""Decoding audio files (and in-memory recordings) into mono float32 at the model's sample rate.

soundfile (libsndfile) reads WAV, FLAC, OGG/Vorbis/Opus, MP3 and AIFF; FFmpeg (PyAV) reads the
containers it cannot (M4A/AAC, MP4/MOV/MKV, WebM, WMA, 3GP/AMR:
:mod:`realtime_ser.audio.ffmpeg_reader`), and a file whose name says nothing goes to FFmpeg when
libsndfile does not recognise it. soxr resamples.
Every failure is turned into :class:`~realtime_ser.errors.AudioFileError` with a
one-line message naming the file, so batch tools can report it and go on.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import soxr

from realtime_ser.audio.ffmpeg_reader import FFMPEG_EXTENSIONS, FFmpegReader
from realtime_ser.errors import AudioFileError
from realtime_ser.native_stderr import native_stderr_silenced

#: What libsndfile decodes; its verdict on these is final (a corrupt WAV is not handed to FFmpeg).
SNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
AUDIO_EXTENSIONS = SNDFILE_EXTENSIONS + FFMPEG_EXTENSIONS
#: The formats as people know them, each with the extensions that open it: the one list an
#: unsupported file's message is made from (tests check it names every extension above, no more).
FORMAT_NAMES = (
    ("WAV", (".wav",)),
    ("FLAC", (".flac",)),
    ("OGG/Opus", (".ogg", ".oga", ".opus")),
    ("MP3", (".mp3",)),
    ("AIFF", (".aif", ".aiff")),
    ("M4A/AAC", (".m4a", ".m4b", ".aac")),
    ("MP4/MOV/MKV", (".mp4", ".mov", ".mkv", ".mka")),
    ("WebM", (".webm",)),
    ("WMA", (".wma",)),
    ("3GP/AMR", (".3gp", ".amr")),
)
SUPPORTED_FORMATS = ", ".join(name for name, _ in FORMAT_NAMES)

#: Headers outside these bounds are corrupt, not audio (found by tests/test_fuzz_decoding.py).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS = 1000, 1_536_000, 256

#: Files longer than this are refused by :func:`load_audio` (use :func:`iter_audio_blocks`).
MAX_LOAD_SECONDS = 4 * 3600


def is_audio_file(path: str | os.PathLike) -> bool:
    """True if the file name has an audio extension this program decodes."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _open(path: str | os.PathLike) -> sf.SoundFile | FFmpegReader:
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: no such file")
    if p.is_dir():
        raise AudioFileError(f"{p}: is a directory, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioFileError(f"{p}: permission denied")
    if p.stat().st_size == 0:
        raise AudioFileError(f"{p}: file is empty")
    suffix = p.suffix.lower()
    if suffix in FFMPEG_EXTENSIONS:
        f = _open_ffmpeg(p)
    else:
        try:
            with native_stderr_silenced():  # the MP3 decoder prints "Note: ..." lines while probing
                # bytes: soundfile encodes a str name strictly, so a name that is not UTF-8 (latin-1
                # from an old disk, which Python holds with surrogates) failed to open
                f = sf.SoundFile(os.fsencode(p))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            detail = str(exc).split("\n")[0]
            # libsndfile says "File does not exist or is not a regular file" of bytes its MP3 probe
            # rejects; the file was checked above, so that is an unknown format too, not a missing file.
            unknown = any(text in detail.lower() for text in ("format not recognised", "unknown format",
                                                              "not a regular file"))
            if unknown and suffix not in SNDFILE_EXTENSIONS:
                f = _open_ffmpeg(p, unknown_format=True)
            else:
                if unknown:
                    raise _unsupported(p) from None
                raise AudioFileError(f"{p}: cannot decode audio ({detail})") from None
    if isinstance(f, sf.SoundFile) and f.format == "FLAC" and f.frames >= UNKNOWN_LENGTH:
        # No length in the header (FLAC written to a pipe: ``ffmpeg ... -f flac -``, or still being
        # written): libsndfile fails at the end, losing its last read and every result. FFmpeg reads
        # such a stream to its end.
        f.close()
        f = _open_ffmpeg(p)
    try:
        check_header(p, f.samplerate, f.channels)
    except AudioFileError:
        f.close()
        raise
    return f


#: libsndfile's frame count for a stream whose header gives no length (SF_COUNT_MAX).
UNKNOWN_LENGTH = 2**62


def check_header(name, sample_rate: int, channels: int) -> None:
    """AudioFileError for a header no real recording has: a corrupt one claiming e.g. 1 Hz would
    make a 40 kB file decode to 700 MB at 16 kHz."""
    if not (MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE) or not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(f"{name}: invalid header (sample rate {sample_rate} Hz, {channels} channels)")


def _open_ffmpeg(p: Path, unknown_format: bool = False) -> FFmpegReader:
    try:
        return FFmpegReader(p)  # PyAV keeps FFmpeg's log quiet unless asked (av.logging)
    except AudioFileError:
        if unknown_format:  # neither library knows it: say what is supported, not FFmpeg's probe error
            raise _unsupported(p) from None
        raise


def _unsupported(p: Path) -> AudioFileError:
    """A file no library recognises: say which formats do open, not a decoder's probe error."""
    return AudioFileError(f"{p}: cannot decode audio: not a supported audio file ({SUPPORTED_FORMATS})")


class AudioInfo(NamedTuple):
    duration: float  # seconds
    channels: int


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Duration and channel count, read from the header without decoding (one opening of the file)."""
    with _open(path) as f:
        return AudioInfo(f.frames / float(f.samplerate) if f.samplerate else 0.0, f.channels)


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds, read from the header without decoding."""
    return audio_info(path).duration


def check_channel(path, channels: int, channel: int | None) -> None:
    """AudioFileError unless ``channel`` (1-based; None = all mixed) is one of the file's ``channels``."""
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, numbers.Integral)):
        # True == 1 in Python: a script's flag must not pass for channel 1.
        raise AudioFileError(f"{path}: channel {channel!r} is not a channel number (channels are numbered "
                             "from 1; None mixes them all)")
    if channel is not None and not 1 <= channel <= channels:
        held = "one channel" if channels == 1 else f"{channels} channels"
        raise AudioFileError(f"{path}: has {held}, so there is no channel {channel}")


#: Float samples this far over full scale (+36 dB) are not float audio (integer PCM held as floats).
FLOAT_PEAK_LIMIT = 64.0


def clip_to_full_scale(mono: np.ndarray) -> np.ndarray:
    """Float samples beyond full scale clipped to it, as playing them would: a float file may hold
    anything (1e30 overflowed the features into NaN warnings and a confident result for noise)."""
    if mono.size and (mono.max() > 1.0 or mono.min() < -1.0):
        return np.clip(mono, -1.0, 1.0)
    return mono


def to_mono(block: np.ndarray, channel: int | None = None) -> np.ndarray:
    """One channel (1-based), or the mean of all of them."""
    if block.ndim == 2:
        block = block[:, channel - 1] if channel is not None else block.mean(axis=1)
    return np.ascontiguousarray(block, dtype=np.float32)


def iter_audio_blocks(
    path: str | os.PathLike, sample_rate: int, block_seconds: float = 10.0, start_seconds: float = 0.0,
    channel: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield a file as mono float32 blocks at ``sample_rate``, decoding incrementally.

    Memory stays bounded whatever the file's length, which is what makes
    ``analyze`` safe on multi-hour recordings.  ``start_seconds`` seeks first
    (used by paced replay to jump in a long recording without decoding it all).
    ``channel`` (1-based) takes that channel alone instead of mixing them all: one side of a call
    recorded in stereo, one speaker's lavalier of an interview.
    """
    f = _open(path)
    with f:
        if f.samplerate <= 0 or f.channels <= 0:
            raise AudioFileError(f"{path}: invalid header (rate {f.samplerate}, {f.channels} channels)")
        check_channel(path, f.channels, channel)
        frames_per_block = max(1, int(block_seconds * f.samplerate))
        if start_seconds > 0:
            if not f.seekable():
                raise AudioFileError(f"{path}: cannot seek in this file")
            f.seek(min(f.frames, int(start_seconds * f.samplerate)))
        resampler = (
            None
            if f.samplerate == sample_rate
            else soxr.ResampleStream(f.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        )
        produced = 0
        any_valid = False  # a float file of nothing but NaN is damaged, not silent
        while True:
            try:
                block = f.read(frames_per_block, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise AudioFileError(f"{path}: corrupt or truncated audio ({str(exc).splitlines()[0]})") from None
            last = len(block) < frames_per_block
            mono = to_mono(block, channel)
            finite = np.isfinite(mono)
            if finite.all():
                any_valid = any_valid or mono.size > 0
            else:  # before resampling, which would spread one NaN over its whole filter
                any_valid = any_valid or bool(finite.any())
                mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
            mono = clip_to_full_scale(mono)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            if mono.size:
                produced += mono.size
                yield mono
            if last:
                break
        if produced == 0 and start_seconds <= 0:
            raise AudioFileError(f"{path}: contains no audio samples")
        if not any_valid and start_seconds <= 0:
            raise AudioFileError(f"{path}: damaged audio: every sample is NaN or infinite")


def load_audio(path: str | os.PathLike, sample_rate: int, channel: int | None = None) -> np.ndarray:
    """Decode a whole file (or one ``channel``, 1-based) into one mono float32 array at ``sample_rate``."""
    with _open(path) as f:
        if f.samplerate > 0 and f.frames / f.samplerate > MAX_LOAD_SECONDS:
            raise AudioFileError(
                f"{path}: too long to load at once ({f.frames / f.samplerate / 3600:.1f} h)"
            )
    blocks = list(iter_audio_blocks(path, sample_rate, block_seconds=60.0, channel=channel))
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def load_span(path: str | os.PathLike, sample_rate: int, start: float, end: float,
              channel: int | None = None) -> np.ndarray:
    """Decode ``start``..``end`` seconds of a file (mono float32 at ``sample_rate``), seeking, not decoding all.

    What the timeline plays when a user double-clicks an utterance; the span is
    clipped to the file, so it may come back shorter (or empty past the end).
    """
    start = max(0.0, float(start))
    want = max(0, int(round((float(end) - start) * sample_rate)))
    out, have = [], 0
    for block in iter_audio_blocks(path, sample_rate, block_seconds=min(10.0, max(0.5, end - start)),
                                   start_seconds=start, channel=channel):
        out.append(block[: want - have])
        have += out[-1].size
        if have >= want:
            break
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _pcm_scale_checked(a: np.ndarray, name: str, listed: bool) -> np.ndarray:
    """Samples whose scale says they are something else are not read as silence or as noise clipped to
    full scale: a list of whole numbers (numpy makes it int64) is 16-bit PCM; floats far beyond ±1.0
    are refused; 16-bit values in a wider integer type are read by that type's range, with a warning."""
    if a.size == 0 or a.dtype.kind not in "fi":
        return a
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)]
        peak = float(np.abs(finite).max()) if finite.size else 0.0
        if peak >= FLOAT_PEAK_LIMIT:
            raise AudioFileError(f"{name}: float samples reach {peak:.6g}, {20 * np.log10(peak):.0f} dB over full "
                                 "scale; float audio lies within ±1.0 (16-bit PCM held as floats? divide it by 32768)")
        return a
    low, high = int(a.min()), int(a.max())
    if listed:
        if low < -32768 or high > 32767:
            raise AudioFileError(f"{name}: a list of whole numbers is read as 16-bit PCM, and these reach "
                                 f"{max(-low, high)}; give an array of the PCM's type (np.int32 for 32-bit)")
        return a.astype(np.int16)
    if a.dtype.itemsize > 2 and 0 < max(-low, high) <= 32767:
        import warnings

        warnings.warn(f"{name}: these {a.dtype} samples peak at {max(-low, high)}, which {a.dtype}'s range reads as "
                      f"{20 * np.log10(max(-low, high) / -float(np.iinfo(a.dtype).min)):.0f} dB: 16-bit PCM in a "
                      "wider type? (np.int16 for 16-bit)", stacklevel=5)
    return a


def mono_from_array(audio, sample_rate: float, to_rate: int, channel: int | None = None,
                    name: str = "audio") -> np.ndarray:
    """An in-memory recording as one mono float32 array at ``to_rate`` (pure function).

    ``audio``: ``(frames,)`` or ``(frames, channels)``, as soundfile reads; float in [-1, 1] or
    integer PCM (scaled by its type's range).  ``channel`` (1-based) takes that channel alone instead
    of the mean of all.  Anything else is an AudioFileError naming ``name``: an array the other way
    round (``(channels, frames)``, as librosa returns) says so, rather than being read as
    thousands of channels.
    """
    if isinstance(audio, (bytes, bytearray)):  # would be read as 8-bit samples, whatever they hold
        raise AudioFileError(f"{name}: raw bytes are not samples; decode them first (np.frombuffer(data, "
                             "dtype=np.int16) for 16-bit PCM)")
    try:
        a = np.asarray(audio)
    except ValueError:  # numpy's "inhomogeneous shape"
        raise AudioFileError(f"{name}: not audio samples (nested lists of different lengths)") from None
    if a.dtype.kind not in "fiu":
        raise AudioFileError(f"{name}: not audio samples (an array of {a.dtype} values)")
    a = _pcm_scale_checked(a, name, listed=not isinstance(audio, np.ndarray))
    if a.ndim not in (1, 2):
        raise AudioFileError(f"{name}: an array of shape {a.shape}; audio is (frames,) or (frames, channels)")
    # More channels than frames is no recording either: a short (channels, frames) one the other way round
    if a.ndim == 2 and (a.shape[1] > MAX_CHANNELS or a.shape[1] > a.shape[0]):
        raise AudioFileError(f"{name}: an array of shape {a.shape} would have {a.shape[1]} channels of "
                             f"{a.shape[0]} frame{'s' if a.shape[0] != 1 else ''}; audio is (frames, channels), "
                             "as soundfile reads (librosa's (channels, frames) is its .T)")
    whole = isinstance(sample_rate, (int, np.integer, float, np.floating)) and not isinstance(sample_rate, bool) \
        and float(sample_rate).is_integer()
    if not (whole and MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE):
        raise AudioFileError(f"{name}: sample rate must be a whole number of Hz from {MIN_SAMPLE_RATE} "
                             f"to {MAX_SAMPLE_RATE}, not {sample_rate!r}")
    check_channel(name, a.shape[1] if a.ndim == 2 else 1, channel)
    if a.size == 0:
        raise AudioFileError(f"{name}: contains no audio samples")
    if a.dtype.kind == "u":  # unsigned PCM (8-bit WAV) is centred on half its range
        half = float(np.iinfo(a.dtype).max) / 2 + 0.5
        a = (a.astype(np.float64) - half) / half
    elif a.dtype.kind == "i":
        a = a.astype(np.float64) / -float(np.iinfo(a.dtype).min)
    mono = to_mono(a, channel)
    if not np.isfinite(mono).any():
        raise AudioFileError(f"{name}: damaged audio: every sample is NaN or infinite")
    mono = clip_to_full_scale(np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0))
    return resample(mono, int(sample_rate), to_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a whole mono float32 array (pure function)."""
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    return soxr.resample(np.asarray(audio, dtype=np.float32), from_rate, to_rate, quality="HQ")
