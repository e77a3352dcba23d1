"""Live-input faults on real speech: a muted (digitally silent) input and a clipping one, once per episode."""

from __future__ import annotations

import numpy as np

from realtime_ser.dsp.input_health import CLIPPING, SILENT, InputHealth, describe
from session_support import speech

SR = 16000
BLOCK = 1600  # 100 ms, as the pipeline reads


def feed(health: InputHealth, audio: np.ndarray) -> list[tuple[float, str, str]]:
    """Messages with the time (s, from the start of ``audio``) of the block that raised them."""
    out = []
    for start in range(0, audio.size, BLOCK):
        for level, message in health.feed(audio[start : start + BLOCK]):
            out.append((start / SR, level, message))
    return out


def test_ordinary_speech_and_a_quiet_room_raise_nothing():
    talk = speech(SR)
    quiet = talk * (10 ** (-75 / 20) / np.sqrt(np.mean(talk**2)))  # a very quiet but live input: -75 dBFS
    health = InputHealth(SR)
    assert feed(health, np.concatenate([talk, quiet, talk])) == [] and health.problem is None


def test_a_muted_input_is_reported_after_three_seconds_and_its_return_once():
    health = InputHealth(SR)
    talk = speech(SR)[: 4 * SR]
    messages = feed(health, np.concatenate([talk, np.zeros(6 * SR, np.float32), talk]))
    assert [(level, text.split(" (")[0]) for _, level, text in messages] == [
        ("warning", "the input is silent"), ("info", "the input is live again")]
    (t_muted, _, warning), (t_back, _, _) = messages
    assert 4 + 3 - 0.1 <= t_muted <= 4 + 3 + 0.1 and "muted or unplugged" in warning
    assert t_back == 10.0
    assert health.problem is None and describe(SILENT) == "Input silent: muted or unplugged?"


def test_an_input_stuck_at_a_dc_offset_is_silent_too():
    health = InputHealth(SR)
    talk = speech(SR)[: 2 * SR] + 0.02  # a cheap microphone's offset, speech on top
    stuck = np.full(4 * SR, 0.02, np.float32)  # then nothing but the offset
    messages = feed(health, np.concatenate([talk, stuck]).astype(np.float32))
    assert [(level, text.split(" (")[0]) for _, level, text in messages] == [("warning", "the input is silent")]
    assert health.problem == SILENT


def test_clipping_is_reported_once_per_episode_with_its_share():
    talk = speech(SR)
    clipped = np.clip(talk * 12.0, -1.0, 1.0)  # gain far too high: the peaks are cut flat
    health = InputHealth(SR)
    messages = feed(health, np.concatenate([talk[: 3 * SR], clipped, talk]))
    assert [level for _, level, _ in messages] == ["warning", "info"]
    (t_on, _, warning), (t_off, _, recovered) = messages
    assert 3.0 <= t_on <= 3.0 + 2.0 and "clipping" in warning and "lower" in warning
    # over when the last 2 s hold (almost) no clipped samples: a pause or the clean speech after it
    assert t_on + 2.0 <= t_off <= 3.0 + clipped.size / SR + 2.0 and recovered == "the input level is back within range"
    assert describe(CLIPPING) == "Input clipping: lower the gain" and describe(None) == ""
