"""Bounded fuzzing of everything that decodes user files (hypothesis, a few seconds each).

Audio decoding (``load_audio`` / ``iter_audio_blocks``) may only fail with
AudioFileError, whatever the bytes: random data, real WAV/FLAC/OGG/MP3 files (libsndfile) and
M4A/WebM files (FFmpeg), encoded in the test from a real CREMA-D clip, with mutated headers, and
truncations.  The session reader may only fail with SessionError, whatever the
manifest and event log hold.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_ser.audio.io import iter_audio_blocks, load_audio
from realtime_ser.errors import AudioFileError, SessionError
from realtime_ser.session import Session, SessionRecorder
from realtime_ser.session.reader import parse_event_lines
from session_support import crema_clips, encode_with_ffmpeg

SR = 16000
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples in CI every time; a crash found once stays found
    database=None,
)

# (format, subtype, extension) of the containers the program reads.
CONTAINERS = [
    ("WAV", "PCM_16", ".wav"),
    ("WAV", "FLOAT", ".wav"),
    ("FLAC", "PCM_16", ".flac"),
    ("OGG", "VORBIS", ".ogg"),
    ("MP3", "MPEG_LAYER_III", ".mp3"),
]
# (codec, extension) of the containers FFmpeg reads for the program.
FFMPEG_CONTAINERS = [("aac", ".m4a"), ("libopus", ".webm")]


def _encode(fmt: str, subtype: str, clip: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, clip, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture(scope="module")
def real_files() -> dict[str, tuple[bytes, str]]:
    """Half a second of real speech, stereo at 22.05 kHz (exercises downmix and resampling)."""
    audio, rate = sf.read(crema_clips()[0], dtype="float32")
    clip = audio[rate : rate + rate // 2]
    stereo = np.stack([clip, clip * 0.5], axis=1)
    from realtime_ser.audio.io import resample

    stereo = np.stack([resample(stereo[:, c], rate, 22050) for c in range(2)], axis=1)
    files = {f"{fmt}/{sub}": (_encode(fmt, sub, stereo, 22050), ext) for fmt, sub, ext in CONTAINERS}
    with tempfile.TemporaryDirectory() as d:
        for codec, ext in FFMPEG_CONTAINERS:
            rate = 48000 if codec == "libopus" else 22050  # Opus only runs at 8/12/16/24/48 kHz
            path = encode_with_ffmpeg(Path(d) / f"clip{ext}", stereo, 22050, codec=codec, stream_rate=rate)
            files[codec] = (path.read_bytes(), ext)
    return files


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _decode_all_ways(path: Path) -> None:
    """Both entry points; the only acceptable failure is AudioFileError."""
    try:
        audio = load_audio(path, SR)
        assert audio.dtype == np.float32 and audio.ndim == 1 and np.all(np.isfinite(audio))
    except AudioFileError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    try:
        for block in iter_audio_blocks(path, SR, block_seconds=0.1):
            assert block.dtype == np.float32 and block.ndim == 1
    except AudioFileError as exc:
        assert "\n" not in str(exc)


def test_real_files_decode(real_files, scratch):
    """The unmutated files are fine (so the fuzzing below starts from valid input)."""
    for name, (data, ext) in real_files.items():
        path = scratch / f"ok{ext}"
        path.write_bytes(data)
        audio = load_audio(path, SR)
        assert 0.4 < audio.size / SR < 0.65, name


@FUZZ
@given(data=st.binary(max_size=4096),
       ext=st.sampled_from([".wav", ".flac", ".ogg", ".mp3", ".aiff", ".m4a", ".webm", ".mp4", ""]))
def test_random_bytes(scratch, data, ext):
    path = scratch / f"random{ext}"
    path.write_bytes(data)
    _decode_all_ways(path)


@FUZZ
@given(
    which=st.sampled_from([f"{fmt}/{sub}" for fmt, sub, _ in CONTAINERS] + [c for c, _ in FFMPEG_CONTAINERS]),
    # Mostly hit the header (first 128 bytes), sometimes anywhere.
    edits=st.lists(
        st.tuples(st.one_of(st.integers(0, 127), st.integers(0, 1 << 20)), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    ),
    cut=st.one_of(st.none(), st.integers(0, 1 << 20)),
)
def test_mutated_headers_and_truncations(real_files, scratch, which, edits, cut):
    data, ext = real_files[which]
    mutated = bytearray(data)
    for pos, value in edits:
        mutated[pos % len(mutated)] = value
    if cut is not None:
        mutated = mutated[: cut % (len(mutated) + 1)]
    path = scratch / f"mutated{ext}"
    path.write_bytes(bytes(mutated))
    _decode_all_ways(path)


@FUZZ
@given(
    which=st.sampled_from(["WAV/PCM_16", "WAV/FLOAT"]),
    field=st.sampled_from([(22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"), (40, "<I"), (4, "<I")]),
    value=st.one_of(st.sampled_from([0, 1, 2, 3, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF]), st.integers(0, 0xFFFFFFFF)),
)
def test_wav_header_fields(real_files, scratch, which, field, value):
    """Targeted: channels, rate, byte rate, block align, bits, data size, RIFF size set to extremes."""
    import struct

    data = bytearray(real_files[which][0])
    offset, fmt = field
    width = struct.calcsize(fmt)
    struct.pack_into(fmt, data, offset, value & ((1 << (8 * width)) - 1))
    path = scratch / "field.wav"
    path.write_bytes(bytes(data))
    _decode_all_ways(path)


# --- session reader -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def session_template(scratch) -> tuple[Path, dict]:
    rec = SessionRecorder(scratch / "sessions", SR, "mic", None, None)
    folder = rec.start()
    rec.write_audio(np.zeros(SR // 10, np.float32))
    rec.stop()
    return folder, json.loads((folder / "manifest.json").read_text())


def _open_session(folder: Path) -> None:
    try:
        session = Session.open(folder)
        assert isinstance(session.events, list)
    except SessionError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=st.data())
def test_session_manifests(session_template, data):
    folder, template = session_template
    manifest = dict(template)
    for key in data.draw(st.lists(st.sampled_from(sorted(template) + ["extra"]), max_size=4)):
        if data.draw(st.booleans()):
            manifest.pop(key, None)
        else:
            manifest[key] = data.draw(json_values)
    raw = data.draw(
        st.one_of(
            st.just(json.dumps(manifest).encode()),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=512),
        )
    )
    (folder / "manifest.json").write_bytes(raw)
    _open_session(folder)


event_dicts = st.fixed_dictionaries(
    {"type": st.sampled_from(["speech", "emotion", "status", "other"])},
    optional={
        k: json_values
        for k in ["kind", "time", "utterance_id", "start", "end", "label", "top_label", "confidence",
                  "probabilities", "final", "latency_ms", "level", "message"]
    },
)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(event_dicts.map(lambda d: json.dumps(d).encode()), st.binary(max_size=80)), max_size=20
    ),
    tail=st.binary(max_size=40),
)
def test_session_event_logs(session_template, lines, tail):
    folder, template = session_template
    (folder / "manifest.json").write_text(json.dumps(template))
    raw = b"\n".join(lines) + b"\n" + tail
    (folder / "events.jsonl").write_bytes(raw)
    events, warnings = parse_event_lines(io.BytesIO(raw), "events.jsonl")
    for e in events:  # whatever survived is a well-typed event the GUI can draw
        assert e.type in ("speech", "emotion", "status")
        if e.type == "emotion":
            assert isinstance(e.start, (int, float)) and isinstance(e.probabilities, dict)
    _open_session(folder)


def test_absurd_sample_rate_is_rejected_not_decoded(real_files, scratch):
    """Found by the fuzzer: a 1 Hz header made a 44 kB file decode to 176 M samples (700 MB)."""
    import struct

    data = bytearray(real_files["WAV/PCM_16"][0])
    struct.pack_into("<I", data, 24, 1)
    path = scratch / "one_hertz.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match=r"invalid header \(sample rate 1 Hz, 2 channels\)"):
        load_audio(path, SR)
    with pytest.raises(AudioFileError, match="invalid header"):
        next(iter_audio_blocks(path, SR))
