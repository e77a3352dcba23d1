"""FileSource (fast and paced, pause/resume/seek/loop) and device lookup errors."""

import time

import numpy as np
import pytest
import soundfile as sf

from realtime_ser.audio.devices import resolve_device
from realtime_ser.audio.file_source import FileSource
from realtime_ser.audio.io import load_audio, load_span
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.errors import AudioFileError, DeviceError

SR = 16000


@pytest.fixture(scope="module")
def clip(data):
    return data / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac"


def drain(src, timeout=0.1):
    out = []
    while True:
        block = src.read(timeout)
        if block is None:
            return np.concatenate(out) if out else np.zeros(0, np.float32)
        out.append(block)


def test_fast_file_source_equals_decoding(clip):
    src = FileSource(clip)
    src.start()
    got = drain(src)
    assert np.array_equal(got, load_audio(clip, SR))
    assert src.position == pytest.approx(got.size / SR)
    assert src.duration == pytest.approx(got.size / SR, abs=1e-3)


def test_a_seek_before_the_start_starts_there_and_tells_the_pipeline(clip):
    src = FileSource(clip)
    src.seek(1.5)  # a finished replay played again from 1.5 s
    src.start()
    assert src.take_reset() == int(1.5 * SR)  # the pipeline's clock starts at 1.5 s too
    got = drain(src)
    assert np.array_equal(got, load_audio(clip, SR)[int(1.5 * SR):])


def test_a_paced_replay_sought_before_its_start_opens_the_file_once_there():
    """The app's "play a finished replay again from here": seek, then start. The seek only records
    the place (nothing is opened until start), and the first audio delivered is the file's from it."""
    from realtime_ser.resources import DEMO_PATH

    src = FileSource(DEMO_PATH, realtime=True, speed=8.0)
    src.seek(30.0)  # clamped to the file's end
    src.seek(12.5)  # the last seek before the start wins
    assert src.position == 12.5 and src._blocks is None  # no decoder yet: start() opens the only one
    src.start()
    assert src.take_reset() == int(12.5 * SR) and src.take_reset() is None
    got = []
    while sum(b.size for b in got) < SR:  # the first second, paced
        got.append(src.read(0.5))
    got = np.concatenate(got)
    src.stop()
    assert np.array_equal(got, load_audio(DEMO_PATH, SR)[int(12.5 * SR):][:got.size])
    assert src.position == pytest.approx(12.5 + got.size / SR)


def test_a_span_decodes_like_the_same_slice_of_the_whole_file(clip):
    whole = load_audio(clip, SR)
    assert np.array_equal(load_span(clip, SR, 0.5, 1.75), whole[8000:28000])
    tail = load_span(clip, SR, whole.size / SR - 0.5, whole.size / SR + 3.0)  # clipped to the file
    assert np.array_equal(tail, whole[-8000:])
    assert load_span(clip, SR, -1.0, 0.25).size == 4000
    assert load_span(clip, SR, 1.0, 1.0).size == 0


def test_any_rate_and_channel_count(clip, tmp_path):
    x = load_audio(clip, SR)
    stereo44 = tmp_path / "stereo44.ogg"
    import soxr

    y = soxr.resample(x, SR, 44100)
    sf.write(stereo44, np.stack([y, y], axis=1), 44100, format="OGG")
    src = FileSource(stereo44)
    src.start()
    got = drain(src)
    assert abs(got.size - x.size) < 0.01 * SR
    n = min(got.size, x.size)
    assert np.corrcoef(got[:n], x[:n])[0, 1] > 0.95


def test_paced_source_runs_in_real_time(clip):
    src = FileSource(clip, realtime=True, block_ms=20)
    src.start()
    t0 = time.monotonic()
    got = 0
    sizes = set()
    while got < SR:  # one second of audio
        block = src.read(0.5)
        got += block.size
        sizes.add(block.size)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed <= 1.3
    assert sizes <= {320, 0}  # microphone-like 20 ms blocks


def test_pause_resume_seek_and_loop(clip):
    src = FileSource(clip, realtime=True, speed=4.0, loop=True)
    src.start()
    src.read(0.2)
    src.pause()
    pos = src.position
    assert src.paused
    assert src.read(0.2).size == 0  # nothing while paused
    assert src.position == pos
    src.resume()
    assert src.read(0.2).size > 0
    src.seek(2.0)
    assert src.take_reset() == 2 * SR
    assert src.take_reset() is None
    first = src.read(0.2)
    x = load_audio(clip, SR)
    assert np.allclose(first, x[2 * SR : 2 * SR + first.size], atol=1e-4)
    src.seek(src.duration - 0.05)  # loops back to the start at the end
    assert src.read(0.2).size == 0  # the reader takes the reset before more audio
    assert src.take_reset() == int((src.duration - 0.05) * SR)
    total = 0
    while total < 0.3 * SR:
        total += src.read(0.2).size
    src.stop()
    assert src.read(0.1) is None


def test_a_seek_during_a_paced_replay_keeps_the_clock_on_the_file(clip):
    """The replay bar seeks from the GUI thread while the pipeline's reader waits for the next block
    (nearly always). The block from the new place was fed at the old clock before the reset came:
    every later time was 20 ms early. Each block's stream time must be its place in the file."""
    from realtime_ser.pipeline.worker import Pipeline

    x = load_audio(clip, SR)
    for delay in (0.31, 0.347, 0.383):  # different moments within a block's wait
        src = FileSource(clip, realtime=True)
        pipe = Pipeline(src, None)  # no model: only the clock is looked at
        seen = []
        pipe.add_audio_listener(lambda block, t: seen.append((block.copy(), t)))
        pipe.start()
        time.sleep(delay)
        src.seek(2.0)
        time.sleep(0.4)
        pipe.stop()
        after = [(block, t) for block, t in seen if t >= 2.0]
        assert len(after) >= 10
        for block, t in after:
            start = int(round(t * SR))
            assert np.array_equal(block, x[start:start + block.size]), (delay, t)


def test_bad_files_raise_one_line_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 10)
    for path in (tmp_path / "missing.wav", empty, text):
        with pytest.raises(AudioFileError) as info:
            FileSource(path).start()
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_speed_that_cannot_pace_a_replay_is_refused_at_once(clip):
    """A programming error (the CLI and the app check what users type): no replay that never
    delivers, or divides by zero, starts."""
    for speed in (0, -2.0, float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError, match=r"^FileSource speed must be a finite number > 0, not "):
            FileSource(clip, realtime=True, speed=speed)
    assert FileSource(clip, realtime=True, speed=0.5).speed == 0.5


def test_unknown_devices_are_clear_errors():
    with pytest.raises(DeviceError, match="does not exist"):
        resolve_device(4242)
    with pytest.raises(DeviceError, match="no audio device named"):
        resolve_device("definitely-not-a-microphone")
    with pytest.raises(DeviceError):
        MicrophoneSource("definitely-not-a-microphone").start()
