"""EnergyVAD on synthetic signals and on the RAVDESS clips.

Reference for real speech: tools/vad_reference.py (frame energies smoothed over 50 ms, runs
within 40 dB of the clip's peak), shared with tools/bench_latency.py.
"""

import numpy as np
import pytest

from realtime_ser.audio.io import load_audio
from realtime_ser.dsp.vad import EnergyVAD, VADConfig, describe_no_speech
from tests.conftest import ravdess_clips
from tools.vad_reference import reference_span
from tools.vad_reference import vad_events as run

SR = 16000


def noise(seconds, db=-60.0, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (db / 20)).astype(np.float32)


def tone(seconds, db=-20.0, f=220.0):
    t = np.arange(int(seconds * SR)) / SR
    # a voiced-like harmonic tone in "syllables": 4 per second with deep dips between them
    x = sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6))
    x *= 0.05 + 0.95 * np.cos(2 * np.pi * 2 * t) ** 2
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (db / 20)).astype(np.float32)


def assert_alternate(events):
    kinds = [e.kind for e in events]
    assert kinds[::2] == ["start"] * len(kinds[::2])
    assert kinds[1::2] == ["end"] * len(kinds[1::2])


def test_bursts_in_noise_give_accurate_alternating_events():
    sig = np.concatenate([noise(1.0), noise(1.5, seed=1) + tone(1.5), noise(1.0, seed=2),
                          noise(0.8, seed=3) + tone(0.8), noise(1.0, seed=4)])
    events = run(sig)
    assert_alternate(events)
    assert len(events) == 4
    starts = [e.sample / SR for e in events[::2]]
    ends = [e.sample / SR for e in events[1::2]]
    assert np.allclose(starts, [1.0, 3.5], atol=0.03)
    assert np.allclose(ends, [2.5, 4.3], atol=0.03)
    # default hangover: end decided <= 400 ms after the speech stopped
    for e, true_end in zip(events[1::2], [2.5, 4.3]):
        assert 0 < e.decided_at / SR - true_end <= 0.4
        assert e.reason == "silence"
    # pre-roll is available for whoever keeps the audio
    assert events[0].audio_start == events[0].sample - int(0.2 * SR)


def test_block_size_does_not_change_events():
    sig = np.concatenate([noise(0.7), noise(1.0, seed=1) + tone(1.0), noise(0.9, seed=2)])
    reference = run(sig, block=SR)
    for block in (1, 7, 160, 441, 5000):
        assert run(sig, block=block) == reference


def test_clicks_shorter_than_min_speech_are_ignored():
    sig = noise(2.0)
    for t in (0.5, 1.0, 1.5):  # 50 ms clicks
        i = int(t * SR)
        sig[i : i + 800] += tone(0.05, db=-10)
    assert run(sig) == []


def test_long_speech_is_cut_at_max_utterance_length():
    cfg = VADConfig(max_utterance_s=4.0)
    sig = np.concatenate([noise(0.5), noise(10.0, seed=1) + tone(10.0), noise(1.0, seed=2)])
    events = run(sig, config=cfg)
    assert_alternate(events)
    assert len(events) == 6  # 10 s of speech -> 4 + 4 + 2 s
    for end, nxt in zip(events[1:-1:2], events[2::2]):
        assert end.reason == "max_length" and nxt.sample == end.sample
    lengths = [(e.sample - s.sample) / SR for s, e in zip(events[::2], events[1::2])]
    assert lengths[0] == pytest.approx(4.0, abs=0.02) and lengths[1] == pytest.approx(4.0, abs=0.02)


def test_speech_ending_just_before_the_length_limit_is_one_utterance():
    """Speech that stops within the hangover (300 ms) before ``max_utterance_s``: the limit used to
    cut there anyway and open an utterance that the hangover then closed before its own start (a
    phantom result, start 11.0 s, end 10.9 s, on real speech)."""
    cfg = VADConfig(max_utterance_s=4.0)
    for speech_s in (3.75, 3.85, 3.95):
        sig = np.concatenate([noise(0.5), noise(speech_s, seed=1) + tone(speech_s), noise(1.5, seed=2)])
        events = run(sig, config=cfg)
        assert_alternate(events)
        assert [e.reason for e in events[1::2]] == ["silence"], (speech_s, events)


def test_a_pause_at_the_length_limit_is_where_the_cut_falls():
    """The limit reached in a pause shorter than the hangover: the utterance is cut where speech
    resumes, so no utterance ends before it starts and none holds a scrap of silence."""
    cfg = VADConfig(max_utterance_s=4.0)
    sig = np.concatenate([noise(0.5), noise(3.9, seed=1) + tone(3.9), noise(0.2, seed=2),
                          noise(2.0, seed=3) + tone(2.0), noise(1.0, seed=4)])
    events = run(sig, config=cfg)
    assert_alternate(events)
    assert len(events) == 4 and events[1].reason == "max_length"
    for start, end in zip(events[::2], events[1::2]):
        assert end.sample > start.sample
    assert events[2].sample / SR == pytest.approx(4.6, abs=0.05)  # where the second stretch begins


def test_noise_floor_adapts_to_a_louder_room():
    """A step from quiet to constant loud noise is speech at first, but the floor follows it:
    after adaptation the VAD is silent again and still detects speech over the new noise."""
    loud = noise(20.0, db=-35.0, seed=5)
    sig = np.concatenate([noise(1.0), loud, loud[: 2 * SR] + tone(2.0, db=-12), noise(1.0, db=-35.0, seed=6)])
    vad = EnergyVAD(SR)
    events = vad.process(sig) + vad.flush()
    assert_alternate(events)
    assert -40 < vad.noise_floor_db < -30
    # the noise passes for speech no longer than the floor's window (it took 2 s more to rise there)
    assert events[0].sample / SR == pytest.approx(1.0, abs=0.05)
    assert events[1].sample / SR <= 1.0 + VADConfig().floor_window_s + 0.1
    late = [e for e in events if e.kind == "start" and e.sample > 15 * SR]
    assert len(late) == 1 and abs(late[0].sample / SR - 21.0) < 0.05


def fan(seconds, db, seed=0):
    """A fan or air conditioner near the microphone: steady pink noise with hum of its motor."""
    n = int(seconds * SR)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    pink = np.fft.irfft(spectrum / np.sqrt(np.arange(1, spectrum.size + 1)), n)
    t = np.arange(n) / SR
    x = pink / pink.std() + 0.7 * np.sin(2 * np.pi * 120 * t) + 0.3 * np.sin(2 * np.pi * 240 * t)
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (db / 20)).astype(np.float32)


@pytest.mark.parametrize("db", [-30.0, -25.0])
def test_a_loud_steady_noise_at_the_start_is_not_an_utterance(data, db):
    """A stream that starts in steady noise louder than a quiet room (here 15-20 dB louder) opened
    an "utterance" of noise at once, lasting until the floor caught up: the first result of every
    session near a fan.  The warm-up places the floor at the noise, and the speech that follows
    is found where it starts, however the stream comes in blocks (a whole file at once included:
    its speech counted in the warm-up, and the noise was taken for speech again)."""
    speech = load_audio(data / "ravdess/Actor_01/03-01-05-02-01-01-01.flac", SR)
    ref_start, _ = reference_span(speech)
    lead = 2.0
    sig = np.concatenate([np.zeros(int(lead * SR), np.float32), speech]) + fan(lead + speech.size / SR, db)
    for block in (320, 441, SR, sig.size):
        events = run(sig, block=block)
        assert_alternate(events)
        starts = [e.sample / SR for e in events[::2]]
        assert starts and abs(starts[0] - (lead + ref_start)) <= 0.15, (starts, lead + ref_start)
    vad = EnergyVAD(SR)
    vad.process(sig[: SR // 2 + 160])  # just past the warm-up
    assert db - 8 < vad.noise_floor_db < db  # the quietest moments of the noise, not a quiet room's -45


def test_speech_from_the_first_sample_is_found_from_its_start(data):
    """The warm-up must not swallow speech that is there from the first sample (a file cut
    tightly, a stream started mid-sentence): its start is decided later, not moved."""
    for clip in ravdess_clips(step=80):
        x = load_audio(clip, SR)
        cut = int(reference_span(x)[0] * SR)
        # where the speech is found when a second of quiet comes first (the reference's span starts
        # at the faintest sound, often a breath the VAD rightly leaves out)
        in_full = max(0.0, (run(x)[0].sample - cut) / SR)
        x = x[cut:]
        vad = EnergyVAD(SR)
        returned_at = []  # how much had been fed when each event came out
        for i in range(0, x.size, 320):
            returned_at += [(min(i + 320, x.size), e) for e in vad.process(x[i : i + 320])]
        events = [e for _, e in returned_at] + vad.flush()
        assert_alternate(events)
        assert events and abs(events[0].sample / SR - in_full) <= 0.15, (clip.name, in_full, events[:1])
        assert returned_at[0][0] >= 0.5 * SR  # held until the warm-up placed the floor


def test_a_floor_set_before_the_stream_needs_no_warm_up():
    """A floor already known (set_noise_floor: a calibration, a previous session) is used from
    the first frame: speech at the start is decided at once, not after the warm-up."""
    for known_floor, waits in ((None, True), (-70.0, False)):
        vad = EnergyVAD(SR)
        if known_floor is not None:
            vad.set_noise_floor(known_floor)
        sig = tone(1.0, db=-30.0)
        first = next(i + 320 for i in range(0, sig.size, 320) if vad.process(sig[i : i + 320]))
        assert (first >= 0.5 * SR) == waits, (known_floor, first)


def test_threshold_and_floor_controls():
    sig = np.concatenate([noise(1.0), noise(1.0, seed=1) + tone(1.0, db=-52), noise(1.0, seed=2)])
    assert len(run(sig)) == 2  # 8 dB over the noise... plus the tone's peaks
    vad = EnergyVAD(SR)
    vad.threshold_db = 30.0
    assert vad.process(sig) + vad.flush() == []
    vad = EnergyVAD(SR)
    vad.set_noise_floor(-30.0)
    assert vad.noise_floor_db == -30.0


def test_digital_silence_is_never_speech():
    vad = EnergyVAD(SR)
    sig = np.zeros(3 * SR, dtype=np.float32)
    sig[SR:] = np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32) * 1e-5  # dither
    assert vad.process(sig) + vad.flush() == []


def test_ravdess_one_utterance_per_clip_within_150ms(data):
    clips = ravdess_clips(step=20)  # 72 clips over all 24 actors and all emotions
    assert len(clips) >= 70
    good = 0
    report = []
    for clip in clips:
        x = load_audio(clip, SR)
        events = run(x)
        assert_alternate(events)
        ref_start, ref_end = reference_span(x)
        ok = (
            len(events) == 2
            and abs(events[0].sample / SR - ref_start) <= 0.15
            and abs(events[1].sample / SR - ref_end) <= 0.15
        )
        good += ok
        if not ok:
            report.append(f"{clip.name}: ref {ref_start:.2f}-{ref_end:.2f} got "
                          + " ".join(f"{e.kind}@{e.sample / SR:.2f}" for e in events))
    # On every third clip of the corpus (480) the rate is 88% with the default settings
    # (tools/bench_latency.py --vad-accuracy); the misses are breaths before the sentence (a pure energy VAD
    # counts them as speech) and pauses longer than the 300 ms hangover.
    assert good / len(clips) >= 0.8, "\n".join(report)


def no_speech_reason(signal, config):
    vad = EnergyVAD(SR, config)
    events = vad.process(signal) + vad.flush()
    return events, describe_no_speech(vad.peak_db, vad.peak_excess_db, config, vad.stream_samples / SR)


def test_a_stream_without_speech_says_why(data):
    """The reason given names the number that decides, so a user knows how far to lower the threshold."""
    default = VADConfig()
    assert no_speech_reason(np.zeros(2 * SR, np.float32), default) == ([], "no speech found: the audio is silent")
    studio = load_audio(data / "ravdess/Actor_01/03-01-05-02-01-01-01.flac", SR)
    events, why = no_speech_reason(studio * 10 ** (-55 / 20), default)  # peak about -65 dBFS
    assert events == [] and why.startswith("no speech found: the audio is very quiet (loudest moment -65 dBFS")

    # a real recording with room noise, by a speaker and microphone never trained on
    angry = load_audio(data / "crema-d-samples/ANG.wav", SR)
    events, why = no_speech_reason(angry, VADConfig(threshold_db=45.0))
    assert events == []
    excess = int(why.split("the loudest moment is ")[1].split(" dB")[0])
    assert 20 <= excess < 45 and why.endswith("(a lower VAD threshold finds quieter speech)")
    assert run(angry, config=VADConfig(threshold_db=excess + 1)) == []  # the peak bounds what can be found
    assert len(run(angry, config=VADConfig(threshold_db=excess - 10))) == 2

    # a clip shorter than min_speech_ms: no threshold helps, so none is suggested
    short = angry[SR : SR + SR // 10]  # loud speech
    assert no_speech_reason(short, VADConfig(threshold_db=0.0)) == (
        [], "no speech found: the audio is only 0.10 s long, shorter than the 150 ms speech must last")
    longer = angry[SR : SR + int(0.16 * SR)]  # just long enough
    assert [e.kind for e in no_speech_reason(longer, VADConfig(threshold_db=0.0))[0]] == ["start", "end"]

    # soft sad speech about 10 dB over the noise, its rumble counted too (full band): loud enough only in
    # moments shorter than min_speech_ms
    sad = load_audio(data / "crema-d-samples/SAD.wav", SR)
    events, why = no_speech_reason(sad, VADConfig(highpass_hz=0.0))
    assert events == [] and why.startswith("no speech found: nothing stayed 12 dB above the background noise for 150 ms")
    peak = int(why.split("the loudest moment rose ")[1].split(" dB")[0])  # how far, to act on
    assert 12 <= peak < 30 and why.endswith("too briefly (a lower VAD threshold finds quieter speech)")
    found = run(sad, config=VADConfig(threshold_db=11.0, highpass_hz=0.0))
    assert [e.kind for e in found] == ["start", "end"] and 0.5 < found[0].sample / SR < 0.7
    # the default high-pass leaves the rumble under the voice out of the noise floor: found as it is
    default_found = run(sad)
    assert [e.kind for e in default_found] == ["start", "end"] and 0.5 < default_found[0].sample / SR < 0.7


def test_a_dc_offset_is_not_sound(data):
    """Cheap USB microphones add a constant to the signal: it must not hide speech or pass for it."""
    angry = load_audio(data / "crema-d-samples/ANG.wav", SR)
    clean = run(angry)
    assert [e.kind for e in clean] == ["start", "end"]
    for dc in (0.02, 0.05, -0.1):
        shifted = run(angry + np.float32(dc))
        assert [e.kind for e in shifted] == ["start", "end"], dc
        assert all(abs(a.sample - b.sample) <= 2 * 160 for a, b in zip(shifted, clean)), (dc, shifted, clean)
    # the DC blocker's state carries over from block to block
    offset = angry + np.float32(0.05)
    reference = run(offset, block=SR)
    assert [run(offset, block=b) for b in (7, 441)] == [reference, reference]
    # a constant is silence, also when it appears suddenly (a microphone plugged in mid-frame: one click)
    constant = np.full(3 * SR, 0.05, np.float32)
    assert no_speech_reason(constant, VADConfig()) == ([], "no speech found: the audio is silent")
    constant[: SR + 77] = 0.0
    assert run(constant) == []


def _rumble(rng: np.random.Generator, n: int, level_dbfs: float) -> np.ndarray:
    """A burst of noise under 60 Hz (traffic, air conditioning, a knock on the desk), RMS ``level_dbfs``
    at its middle."""
    from scipy.signal import butter, sosfilt

    x = sosfilt(butter(4, 60, "lowpass", fs=SR, output="sos"), rng.standard_normal(n + 4000))[4000:]
    return (x / np.sqrt(np.mean(x ** 2)) * np.hanning(n) * np.sqrt(2) * 10 ** (level_dbfs / 20)).astype(np.float32)


def test_rumble_under_the_voice_makes_no_utterance(data):
    """Low rumble between sentences (here 20 dB over a -50 dBFS hiss) made an utterance of its own each
    time, which the model then labelled; the energy is now measured above 120 Hz, where a voice has its
    energy and rumble has little, and only the speech is found."""
    rng = np.random.default_rng(0)
    clips = [load_audio(c, SR) for c in ravdess_clips(step=97)[:6]]
    parts, spans, at = [], [], 0
    for speech in clips:
        gap = rng.standard_normal(3 * SR).astype(np.float32) * 10 ** (-50 / 20)
        gap[SR // 2 : SR // 2 + 2 * SR] += _rumble(rng, 2 * SR, -30.0)
        speech = speech * (10 ** (-20 / 20) / np.max(np.abs(speech)))  # peaks at -20 dBFS, over the same hiss
        parts += [gap, speech + rng.standard_normal(speech.size).astype(np.float32) * 10 ** (-50 / 20)]
        spans.append((at + gap.size, at + gap.size + speech.size))
        at += gap.size + speech.size
    stream = np.concatenate(parts)

    def utterances(config):
        events = run(stream, config=config)
        assert [e.kind for e in events] == ["start", "end"] * (len(events) // 2)
        return [(a.sample, b.sample) for a, b in zip(events[::2], events[1::2])]

    def inside_speech(u):
        return any(u[0] < s1 and u[1] > s0 for s0, s1 in spans)

    found = utterances(VADConfig())
    assert all(inside_speech(u) for u in found)  # no utterance of rumble alone
    assert all(any(u[0] < s1 and u[1] > s0 for u in found) for s0, s1 in spans)  # every sentence found
    full_band = utterances(VADConfig(highpass_hz=0.0))
    assert sum(not inside_speech(u) for u in full_band) == len(clips)  # what the rumble did before


def test_the_high_pass_is_the_same_however_the_stream_is_cut():
    from realtime_ser.dsp.vad import high_pass, speech_band_filter

    x = np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    sos = speech_band_filter(120.0, SR)
    whole, _ = high_pass(x, sos, None)
    pieces, state = [], None
    for a, b in ((0, 7), (7, 1000), (1000, 1001), (1001, SR)):
        y, state = high_pass(x[a:b], sos, state)
        pieces.append(y)
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)
    assert speech_band_filter(0.0, SR) is None  # off: the DC blocker alone
    with pytest.raises(ValueError, match="not below half the sample rate"):
        EnergyVAD(SR, VADConfig(highpass_hz=8000.0))
    with pytest.raises(ValueError):
        VADConfig(highpass_hz=-1.0)
