"""Recordings in the containers phones, video calls and browsers make (M4A/AAC, MP4 video, WebM/Opus).

The files are encoded at test time by the real FFmpeg (PyAV) from the bundled CREMA-D demo, and
decoded by the same FFmpeg through ``realtime_ser.audio.io``: what ``analyze``, replay and the app use.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import run_cli
from realtime_ser.audio.io import audio_duration, is_audio_file, iter_audio_blocks, load_audio, load_span
from realtime_ser.errors import AudioFileError
from realtime_ser.resources import DEMO_PATH
from session_support import encode_with_ffmpeg

SR = 16000


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return load_audio(DEMO_PATH, SR)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, demo) -> dict:
    """name -> path: a voice memo, a stereo 44.1 kHz memo, a browser recording, an interview video,
    and a WebM that states no duration (a browser's MediaRecorder), whose length is counted."""
    from realtime_ser.audio.io import resample

    d = tmp_path_factory.mktemp("formats")
    stereo = resample(demo, SR, 44100)
    return {
        "memo.m4a": encode_with_ffmpeg(d / "memo.m4a", demo, SR),
        "stereo.m4a": encode_with_ffmpeg(d / "stereo.m4a", np.stack([stereo, 0.5 * stereo], axis=1), 44100),
        "browser.webm": encode_with_ffmpeg(d / "browser.webm", demo, SR, codec="libopus", stream_rate=48000),
        "interview.mp4": encode_with_ffmpeg(d / "interview.mp4", demo, SR, video=True),
        "live.webm": encode_with_ffmpeg(d / "live.webm", demo, SR, codec="libopus", stream_rate=48000,
                                        muxer_options={"live": "1"}),
    }


def _aligned_correlation(decoded: np.ndarray, original: np.ndarray, max_lag: int = 4096) -> float:
    """Correlation after the best shift (AAC and Opus add up to a few thousand samples of priming)."""
    n = min(original.size, decoded.size) - max_lag
    lag = int(np.argmax(np.correlate(decoded[: n // 4 + max_lag], original[: n // 4], "valid")))
    return float(np.corrcoef(decoded[lag : lag + n], original[:n])[0, 1])


@pytest.mark.parametrize("name", ["memo.m4a", "stereo.m4a", "browser.webm", "interview.mp4", "live.webm"])
def test_compressed_recordings_decode_to_the_same_speech(recordings, demo, name):
    path = recordings[name]
    assert is_audio_file(path)
    decoded = load_audio(path, SR)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(decoded.size - demo.size) < 0.15 * SR, (decoded.size, demo.size)
    assert abs(audio_duration(path) - demo.size / SR) < 0.15
    if name == "live.webm":  # the duration above was counted, not read
        import av

        with av.open(str(path)) as container:
            assert container.duration is None and container.streams.audio[0].duration is None
    # The stereo file's mix is 0.75 x the speech: the shape, not the level, must survive.
    assert _aligned_correlation(decoded, demo) > 0.95


def test_seeking_in_a_compressed_file_lands_on_the_same_samples(recordings):
    """What a replay's seek bar and double-clicking an utterance do."""
    path = recordings["memo.m4a"]
    whole = load_audio(path, SR)
    span = load_span(path, SR, 10.0, 11.0)
    assert span.size == SR
    assert float(np.corrcoef(span, whole[10 * SR : 11 * SR])[0, 1]) > 0.95
    first = next(iter_audio_blocks(path, SR, block_seconds=0.5, start_seconds=20.0))
    assert float(np.corrcoef(first, whole[20 * SR : 20 * SR + first.size])[0, 1]) > 0.95
    tail = load_span(path, SR, whole.size / SR - 0.5, whole.size / SR + 5.0)  # clipped at the end
    assert 0.4 * SR < tail.size <= 0.5 * SR + 1


def test_analyze_reads_them_like_the_original(recordings, tmp_path):
    """A folder holding an M4A memo and an MP4 video: found, and labelled as the FLAC original is."""
    folder = tmp_path / "interviews"
    folder.mkdir()
    shutil.copy(DEMO_PATH, folder / "original.flac")
    shutil.copy(recordings["memo.m4a"], folder / "memo.m4a")
    shutil.copy(recordings["interview.mp4"], folder / "interview.mp4")
    (folder / "notes.txt").write_text("not audio")
    proc = run_cli("analyze", str(folder), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    results = {r["file"].rsplit("/", 1)[-1]: r["events"] for r in json.loads(proc.stdout)}
    assert sorted(results) == ["interview.mp4", "memo.m4a", "original.flac"]

    def utterances(events):
        return [(e["start"], e["end"], e["top_label"]) for e in events if e["type"] == "emotion" and e["final"]]

    original = utterances(results["original.flac"])
    assert len(original) == 6
    for name in ("memo.m4a", "interview.mp4"):
        got = utterances(results[name])
        assert len(got) == len(original), name
        for (s0, e0, _), (s1, e1, _) in zip(original, got):
            assert abs(s0 - s1) < 0.15 and abs(e0 - e1) < 0.15, name
        same = sum(a[2] == b[2] for a, b in zip(original, got))
        assert same >= 5, (name, original, got)  # a lossy codec may tip one close call


def test_bad_compressed_files_are_one_line_errors(recordings, tmp_path):
    memo = recordings["memo.m4a"].read_bytes()
    cases = {
        "no-sound.mp4": (encode_with_ffmpeg(tmp_path / "no-sound.mp4", np.zeros(SR, np.float32), SR,
                                            video=True, with_audio=False), "has no audio stream"),
        "cut.m4a": (tmp_path / "cut.m4a", "cannot decode audio"),  # the index (moov) is at the end: lost
        "noise.m4a": (tmp_path / "noise.m4a", "cannot decode audio"),
        "memo.wav": (tmp_path / "memo.wav", "not a supported audio file"),  # an M4A renamed .wav
    }
    (tmp_path / "cut.m4a").write_bytes(memo[: len(memo) // 2])
    (tmp_path / "noise.m4a").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "memo.wav").write_bytes(memo)
    for name, (path, reason) in cases.items():
        with pytest.raises(AudioFileError, match=reason) as err:
            load_audio(path, SR)
        assert "\n" not in str(err.value) and str(path) in str(err.value), name
    proc = run_cli("analyze", *(str(p) for p, _ in cases.values()))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("realtime-ser: error: ")]
    assert len(errors) == len(cases) + 1, proc.stderr  # one per file, then "nothing written"


#: How a test writes each extension the program opens: libsndfile (format, subtype, rate) or FFmpeg
#: (codec, rate, bit rate). Every extension must be here: a new one fails until it is tried.
WRITERS = {
    ".wav": ("WAV", None, SR), ".flac": ("FLAC", None, SR), ".ogg": ("OGG", "VORBIS", SR),
    ".oga": ("OGG", "VORBIS", SR), ".opus": ("OGG", "OPUS", 48000), ".mp3": ("MP3", None, SR),
    ".aif": ("AIFF", None, SR), ".aiff": ("AIFF", None, SR),
    ".m4a": ("aac", SR, None), ".m4b": ("aac", SR, None), ".aac": ("aac", SR, None), ".mp4": ("aac", SR, None),
    ".mov": ("aac", SR, None), ".mkv": ("aac", SR, None), ".mka": ("aac", SR, None),
    ".webm": ("libopus", SR, None), ".wma": ("wmav2", 44100, 32000), ".3gp": ("aac", SR, None),
    ".amr": ("amr_nb", 8000, None),
}


def test_every_format_named_as_supported_opens(demo, tmp_path):
    """The formats an unsupported file's message lists are the extensions that really decode."""
    import soundfile as sf

    from realtime_ser.audio.io import AUDIO_EXTENSIONS, FORMAT_NAMES, SNDFILE_EXTENSIONS, resample

    named = [ext for _, extensions in FORMAT_NAMES for ext in extensions]
    assert sorted(named) == sorted(AUDIO_EXTENSIONS) == sorted(WRITERS)
    speech = demo[: 2 * SR]
    for ext in AUDIO_EXTENSIONS:
        path = tmp_path / f"speech{ext}"
        if ext in SNDFILE_EXTENSIONS:
            kind, subtype, rate = WRITERS[ext]
            sf.write(path, resample(speech, SR, rate), rate, format=kind, subtype=subtype)
        else:
            codec, rate, bit_rate = WRITERS[ext]
            encode_with_ffmpeg(path, resample(speech, SR, rate), rate, codec=codec, bit_rate=bit_rate)
        assert abs(audio_duration(path) - 2.0) < 0.15, ext
        assert abs(load_audio(path, SR).size - speech.size) < 0.15 * SR, ext


def test_a_file_that_is_no_audio_names_the_formats_that_open(tmp_path):
    """Notes renamed .wav, or with no extension at all: one line, the formats listed once, no nesting."""
    formats = "WAV, FLAC, OGG/Opus, MP3, AIFF, M4A/AAC, MP4/MOV/MKV, WebM, WMA, 3GP/AMR"
    for name in ("notes.wav", "notes"):
        path = tmp_path / name
        path.write_text("Call with P07 at ten; ask about the weekend.\n")
        with pytest.raises(AudioFileError) as err:
            load_audio(path, SR)
        assert str(err.value) == f"{path}: cannot decode audio: not a supported audio file ({formats})"
        proc = run_cli("analyze", str(path))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        (line,) = proc.stderr.splitlines()
        assert line.startswith(f"realtime-ser: error: {err.value}")  # then "; nothing written"


def test_random_bytes_named_mp3_are_not_called_a_missing_file(tmp_path):
    """libsndfile's MP3 probe rejects such bytes with "File does not exist or is not a regular file":
    the file is there, so the user must hear that it is no audio, not that it is missing."""
    path = tmp_path / "voice-memo.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioFileError) as err:
        load_audio(path, SR)
    assert str(err.value).startswith(f"{path}: cannot decode audio: not a supported audio file (")
    assert "exist" not in str(err.value)


def test_a_file_without_an_extension_is_probed(recordings, tmp_path, demo):
    """A memo saved as "recording" (no extension): libsndfile does not know it, FFmpeg does."""
    bare = tmp_path / "recording"
    bare.write_bytes(recordings["memo.m4a"].read_bytes())
    assert not is_audio_file(bare)  # a folder scan skips it; named on the command line it is read
    assert abs(load_audio(bare, SR).size - demo.size) < 0.15 * SR


def test_a_damaged_stretch_costs_that_stretch_not_the_recording(recordings, tmp_path):
    """Bytes destroyed a third into a memo: the rest decodes, still in its place in time."""
    data = bytearray(recordings["memo.m4a"].read_bytes())
    rng = np.random.default_rng(1)
    for pos in rng.integers(int(0.30 * len(data)), int(0.35 * len(data)), 200):
        data[pos] = rng.integers(0, 256)
    damaged = tmp_path / "damaged.m4a"
    damaged.write_bytes(bytes(data))
    whole, hurt = load_audio(recordings["memo.m4a"], SR), load_audio(damaged, SR)
    assert hurt.size == whole.size
    assert not np.array_equal(hurt, whole)  # the damage was real
    assert np.array_equal(hurt[-3 * SR :], whole[-3 * SR :])  # and the end is untouched, in place


def test_a_video_replays_like_a_microphone(recordings, tmp_path):
    """``listen --replay`` paces the interview video's sound as live audio (the app's replay path)."""
    out = tmp_path / "events.jsonl"
    proc = run_cli("listen", "--replay", str(recordings["interview.mp4"]), "--speed", "20", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    finals = [e for e in events if e["type"] == "emotion" and e["final"]]
    assert len(finals) == 6
    assert "audio: 24.8 s" in proc.stderr  # the summary, after the events


def test_a_float_file_of_nan_is_damaged_not_silent(demo, tmp_path):
    """Every sample NaN was reported "no speech found: the audio is silent". A few NaN samples are
    read as silence, and no longer blank the resampler's whole filter length around them."""
    import soundfile as sf

    from realtime_ser.audio.io import resample

    sf.write(tmp_path / "all-nan.wav", np.full(32000, np.nan, np.float32), SR, subtype="FLOAT")
    result = run_cli("analyze", str(tmp_path / "all-nan.wav"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"realtime-ser: error: {tmp_path / 'all-nan.wav'}: damaged audio: every sample is NaN or infinite; "
        "nothing written"]
    speech = demo[: SR * 8].copy()
    speech[40000:40003] = [np.nan, np.inf, -np.inf]
    sf.write(tmp_path / "some-nan.wav", speech, SR, subtype="FLOAT")
    decoded = load_audio(tmp_path / "some-nan.wav", SR)
    assert np.isfinite(decoded).all() and (decoded[40000:40003] == 0).all()
    assert np.array_equal(decoded[:40000], demo[:40000]) and np.array_equal(decoded[40003:], demo[40003:SR * 8])
    at_44k = resample(demo[: SR * 8], SR, 44100)
    sf.write(tmp_path / "clean-44k.wav", at_44k, 44100, subtype="FLOAT")
    at_44k[110250] = np.nan  # one bad sample, in a file resampled on reading
    sf.write(tmp_path / "one-nan-44k.wav", at_44k, 44100, subtype="FLOAT")
    differ = np.abs(load_audio(tmp_path / "one-nan-44k.wav", SR) - load_audio(tmp_path / "clean-44k.wav", SR)) > 1e-3
    assert 0 < np.count_nonzero(differ) < 40  # a few samples around it, not a blanked stretch


def test_a_file_name_that_is_not_utf8_opens(tmp_path):
    """A latin-1 name from an old disk (Python holds it with surrogates): soundfile refused it
    ("surrogates not allowed"), and a session recorded into such a folder could not be read back."""
    import os

    from realtime_ser.session import Session, SessionRecorder
    from session_support import crema_clips

    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/dossier-\xe9t\xe9")
    name = os.path.join(folder, os.fsdecode(b"col\xe8re.wav"))
    os.mkdir(folder)
    shutil.copy(crema_clips()[0], name)
    assert load_audio(name, SR).size == load_audio(crema_clips()[0], SR).size
    result = run_cli("analyze", name, errors="surrogateescape")  # its rows name the file byte for byte
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.splitlines()[1].startswith(f"{name},1,")
    recorder = SessionRecorder(folder, SR, "mic")
    session_folder = recorder.start()
    recorder.write_audio(load_audio(name, SR), 0.0)
    recorder.stop()
    assert Session.open(session_folder).duration == pytest.approx(load_audio(name, SR).size / SR)


def test_float_samples_beyond_full_scale_are_clipped_as_playing_them_would(demo, tmp_path):
    """A float file may hold anything: values near 1e30 overflowed the features (numpy's warnings on
    stderr, NaN energies) and came out as a confident "surprised" for noise."""
    import soundfile as sf

    sf.write(tmp_path / "huge.wav", (np.random.RandomState(0).randn(48000) * 1e30).astype(np.float32), SR,
             subtype="FLOAT")
    result = run_cli("analyze", str(tmp_path / "huge.wav"))
    assert result.returncode in (0, 1) and "Warning" not in result.stderr and "Traceback" not in result.stderr
    loud = (demo[: SR * 4] / np.abs(demo[: SR * 4]).max() * 2.0).astype(np.float32)  # 6 dB over, as a float mix can be
    sf.write(tmp_path / "hot.wav", loud, SR, subtype="FLOAT")
    decoded = load_audio(tmp_path / "hot.wav", SR)
    assert decoded.max() == 1.0 and decoded.min() == -1.0
    np.testing.assert_array_equal(decoded, np.clip(loud, -1.0, 1.0))


def test_a_flac_stream_without_its_length_is_read_to_its_end(demo, tmp_path):
    """FLAC written to a pipe (``ffmpeg -i talk.m4a -f flac - | realtime-ser analyze -``) or still
    being written has no length in its header: libsndfile failed at its end ("Internal psf_fseek()
    failed"), losing the last read, and analyze wrote nothing at all."""
    import soundfile as sf

    path = tmp_path / "streamed.flac"
    sf.write(path, demo, 16000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # the STREAMINFO block comes first
    data[8 + 13] &= 0xF0  # its 36-bit total sample count (bits 108-143 of the block) set to 0: unknown
    data[8 + 14: 8 + 18] = bytes(4)
    path.write_bytes(bytes(data))
    with sf.SoundFile(path) as f:
        assert f.frames > 2**62  # how libsndfile says "unknown"
    assert load_audio(path, 16000).size == demo.size
    assert audio_duration(path) == pytest.approx(demo.size / 16000)
    proc = run_cli("analyze", str(path), "-f", "summary")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.splitlines()[1].startswith(f"{path},{demo.size / 16000:.2f},6,")


def test_the_results_before_a_damaged_end_are_kept(tmp_path):
    """A FLAC cut short (a copy that stopped, a recorder that died): analyze threw away every
    result and wrote nothing, while listen --replay showed the utterances before the damage. Now
    they are written, with the file's error after them (exit 1), and the summary gives the seconds
    analysed, not the header's length."""
    cut = tmp_path / "cut.flac"
    cut.write_bytes(DEMO_PATH.read_bytes()[:300_000])  # about 21 of its 24.8 s
    proc = run_cli("analyze", str(cut), "-f", "summary")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"realtime-ser: error: {cut}: corrupt or truncated audio (Error : flac decoder lost sync.)"], proc.stderr
    row = proc.stdout.splitlines()[1].split(",")
    assert row[:3] == [str(cut), "20.00", "5"], proc.stdout  # the first five of its six utterances
    doc = json.loads(run_cli("analyze", str(cut), "-f", "json").stdout)
    assert doc[0]["error"].endswith("corrupt or truncated audio (Error : flac decoder lost sync.)")
    assert sum(ev["type"] == "emotion" for ev in doc[0]["events"]) == 5


def test_a_file_that_ends_before_its_header_says_is_said(demo, tmp_path):
    """An MP3 whose download stopped half-way: analyzed to where it ends without a word, and the
    summary gave the header's length. Now a warning says where it ends (the results stand)."""
    import soundfile as sf

    whole = tmp_path / "whole.mp3"
    sf.write(whole, demo, SR, format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 55 // 100])
    assert audio_duration(cut) == pytest.approx(demo.size / SR, abs=0.1)  # the header still says all of it
    proc = run_cli("analyze", str(cut), "-f", "summary")
    assert proc.returncode == 0
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"realtime-ser: warning: {cut}: the recording ends at 1") and line.endswith(
        f"though its header says {demo.size / SR:.1f} s (cut short?)"), line
    assert 12.0 < float(proc.stdout.splitlines()[1].split(",")[1]) < 15.0  # the seconds analysed
    assert run_cli("analyze", str(whole), "-f", "summary").stderr == ""  # a whole file: nothing said
