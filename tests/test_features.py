"""Training features = inference features, on real clips; trimming, augmentation and the cache."""

import os
from pathlib import Path

import numpy as np
import pytest

from realtime_ser.audio.io import load_audio
from realtime_ser.dsp.dc import without_dc
from realtime_ser.dsp.features import (
    FeatureParams,
    delta,
    fit_to_window,
    floor_dynamic_range,
    log_mel_spectrogram,
    normalize_window,
    pitch_frames,
    segment_features,
    window_features,
    window_frames,
)
from tools import augment as aug
from tools.corpora import index_data_dir
from tools.dataset import clip_mean, eval_features, load_utterance, train_features

DATA = Path(os.environ.get("REALTIME_SER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
P = FeatureParams()


@pytest.fixture(scope="module")
def clips():
    all_clips = index_data_dir(DATA)
    short = next(c for c in all_clips if c.path.endswith("Actor_01/03-01-05-02-01-01-01.flac"))
    long = next(c for c in all_clips if c.path.endswith("emodb/wav/08b03Tc.flac"))
    return [short, long]


def test_trim_keeps_speech_and_drops_ravdess_silence(clips):
    raw = load_audio(DATA / clips[0].path, 16000)
    trimmed = load_utterance(DATA, clips[0])
    assert 0.8 < trimmed.size / 16000 < raw.size / 16000 - 0.5  # RAVDESS has ~1 s of silence around speech
    rms = lambda x: np.sqrt(np.mean(x**2))  # noqa: E731
    assert rms(trimmed) > 1.2 * rms(raw)
    # margins: the first and last 0.1 s are quiet compared with the utterance
    assert rms(trimmed[:1600]) < 0.5 * rms(trimmed)


def test_clean_training_variant_equals_inference_features(clips, tmp_path):
    fs = train_features(DATA, clips[:1], P, n_variants=2, seed=0, babble=None, cache_dir=None, workers=1)
    assert fs.x.shape == (2, P.n_frames, P.n_features) and fs.x.dtype == np.float16
    audio = load_utterance(DATA, clips[0])
    raw = window_frames(audio, P)
    np.testing.assert_allclose(fs.x[0].astype(np.float32), raw, rtol=2e-3, atol=2e-2)  # float16 cache
    normalised = normalize_window(fs.x[0].astype(np.float32), P)
    np.testing.assert_allclose(normalised, window_features(audio, P), atol=2e-2)
    assert not np.allclose(normalize_window(fs.x[1].astype(np.float32), P), normalised, atol=0.05)  # augmented


def test_long_clip_crop_is_one_window_of_the_utterance(clips):
    audio = load_utterance(DATA, clips[1])
    assert audio.size > P.window_samples
    fs = train_features(DATA, clips[1:], P, n_variants=1, seed=3, babble=None, cache_dir=None, workers=1)
    # variant 0 is the clean utterance; the seeded generator of (seed, clip, variant) picks the crop
    start = int(np.random.default_rng([3, 0, 0]).integers(audio.size - P.window_samples + 1))
    expected = window_features(audio[start : start + P.window_samples], P)
    got = normalize_window(fs.x[0].astype(np.float32), P)
    np.testing.assert_allclose(got, expected, atol=2e-2)
    assert not np.allclose(got, window_features(audio, P), atol=0.05) or start == 0


def test_eval_rows_are_segment_windows_and_cached(clips, tmp_path):
    fs = eval_features(DATA, clips, P, cache_dir=tmp_path, workers=1)
    expected = segment_features(load_utterance(DATA, clips[1]), P)
    rows = normalize_window(fs.x[fs.clip_index == 1].astype(np.float32), P)
    assert rows.shape == expected.shape and rows.shape[0] >= 2
    np.testing.assert_allclose(rows, expected, atol=2e-2)
    assert len(list(tmp_path.glob("eval-*.npz"))) == 1
    again = eval_features(DATA, clips, P, cache_dir=tmp_path, workers=1)
    np.testing.assert_array_equal(again.x, fs.x)
    probs = np.eye(2)[[0, 1, 1]]
    np.testing.assert_allclose(clip_mean(probs, np.array([0, 1, 1]), 2), np.eye(2))


def test_delta_is_librosas_delta(clips):
    """The linearised delta gives librosa.feature.delta's values: on random frames of every length
    from one window of the filter up (inner frames, both edges, and a window that is all edges), and
    on the cepstra of real speech, short and long."""
    import librosa

    rng = np.random.default_rng(0)
    cases = [rng.standard_normal((20, n)).astype(np.float32) for n in (9, 10, 11, 12, 40, 298, 1001)]
    for clip in clips:
        audio = load_audio(DATA / clip.path, P.sample_rate)
        cases.append(librosa.feature.mfcc(S=log_mel_spectrogram(audio, P).T, n_mfcc=P.n_mfcc))
    for x in cases:
        for width in (3, 5, 9):
            for order in (1, 2):
                expected = librosa.feature.delta(x, width=width, order=order)
                got = delta(x, width, order)
                assert got.shape == x.shape and got.dtype == expected.dtype
                scale = float(np.abs(expected).max())
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale, err_msg=f"{x.shape} {width} {order}")


def test_noise_is_mixed_at_the_requested_snr():
    rng = np.random.default_rng(0)
    speech = np.sin(np.linspace(0, 2000, 32000)).astype(np.float32) * 0.3
    for colour in ("white", "pink", "brown"):
        noise = aug.coloured_noise(32000, colour, rng)
        mixed = aug.mix_at_snr(speech, noise, 10.0)
        snr = 10 * np.log10(np.mean(speech**2) / np.mean((mixed - speech) ** 2))
        assert abs(snr - 10.0) < 0.01


def test_pink_noise_has_more_low_than_high_energy():
    noise = aug.coloured_noise(64000, "pink", np.random.default_rng(1))
    spec = np.abs(np.fft.rfft(noise)) ** 2
    f = np.fft.rfftfreq(64000, 1 / 16000)
    assert spec[(f > 100) & (f < 500)].mean() > 5 * spec[(f > 4000) & (f < 8000)].mean()


def test_augmentations_keep_length_and_range(clips):
    audio = load_utterance(DATA, clips[0])
    rng = np.random.default_rng(5)
    assert aug.band_limit(audio, 300, 3400).shape == audio.shape
    assert aug.reverberate(audio, aug.synthetic_rir(0.5, rng)).shape == audio.shape
    assert abs(aug.speed_perturb(audio, 1.1).size - audio.size / 1.1) < 50
    for seed in range(5):
        out = aug.augment(audio, np.random.default_rng(seed), babble=[audio[::-1].copy()])
        assert np.all(np.abs(out) <= 1.0) and np.all(np.isfinite(out))
        assert window_features(out, P).shape == (P.n_frames, P.n_features)
    chained = [aug.augment(audio, np.random.default_rng(seed), chain=True) for seed in range(40)]
    for out in chained:  # the recording chains too: a phone line, hard clipping, an MP3
        assert out.dtype == np.float32 and np.all(np.abs(out) <= 1.0) and np.all(np.isfinite(out))
        assert abs(out.size - audio.size) <= audio.size * 0.12  # speed perturbation only

    def above_4k(x):  # the share of the energy above 4.2 kHz
        spec = np.abs(np.fft.rfft(x)) ** 2
        return spec[np.fft.rfftfreq(x.size, 1 / 16000) > 4200].sum() / spec.sum()

    assert any(above_4k(out) < 1e-4 for out in chained)  # some through a phone line
    assert not any(above_4k(aug.augment(audio, np.random.default_rng(seed))) < 1e-4 for seed in range(40))


def test_the_evaluations_input_conditions_do_what_they_stand_for(clips, tmp_path):
    """On real speech: each condition keeps the length; clipping drives the peaks past full scale; the phone
    band leaves nothing above 4 kHz nor much under 300 Hz; MP3 keeps the speech band's energy; each is cached
    apart, and changes the features."""
    audio = load_utterance(DATA, clips[0])

    def band_energy(x, low, high):
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / 16000)
        return spec[(f >= low) & (f < high)].sum()

    out = {name: transform(audio) for name, (_, transform) in aug.INPUT_CONDITIONS.items()}
    for name, x in out.items():
        assert x.shape == audio.shape and x.dtype == np.float32 and np.all(np.isfinite(x)), name
    assert np.mean(out["dc"] - audio) == pytest.approx(0.01, abs=1e-6)
    clipped = out["clipped"]
    assert np.max(np.abs(clipped)) == 1.0 and np.mean(np.abs(clipped) == 1.0) > 0.01  # flat tops, not a gain
    np.testing.assert_allclose(clipped[np.abs(clipped) < 0.25], (audio * 4 / np.abs(audio).max())[np.abs(clipped) < 0.25],
                               atol=0.02)  # 12 dB: below the clip level it is the signal, 4 times as loud
    phone = out["phone"]
    assert band_energy(phone, 4200, 8000) < 1e-4 * band_energy(audio, 4200, 8000)
    assert band_energy(phone, 30, 150) < 0.05 * band_energy(audio, 30, 150)
    assert band_energy(phone, 500, 3000) == pytest.approx(band_energy(audio, 500, 3000), rel=0.2)
    assert band_energy(out["mp3"], 200, 3000) == pytest.approx(band_energy(audio, 200, 3000), rel=0.2)
    clean = eval_features(DATA, clips, P, cache_dir=tmp_path, workers=1)
    for name in ("clipped", "mp3"):
        fs = eval_features(DATA, clips, P, cache_dir=tmp_path, workers=1, condition=name)
        assert fs.x.shape == clean.x.shape and not np.allclose(fs.x, clean.x, atol=0.05), name
    assert len(list(tmp_path.glob("eval-*.npz"))) == 3


def test_global_normalisation_is_level_independent_and_keeps_envelope(clips):
    audio = load_utterance(DATA, clips[0])
    raw = window_frames(audio, P)
    g = FeatureParams(cmvn=False, global_mean=tuple(raw.mean(0)), global_std=tuple(raw.std(0) + 1))
    quiet = window_features(audio * 0.1, g)
    diff = np.abs(quiet - window_features(audio, g))  # -20 dB shifts only c0 (except near the log floor)
    assert np.median(diff) < 1e-3 and diff.mean() < 0.05
    assert abs(quiet[:, 0].mean()) < 1e-4
    # a brighter microphone changes the envelope means, which per-window CMVN would erase
    bright = aug.peaking_eq(audio, 3000, 12, 1.0)
    assert np.abs(window_features(bright, g)[:, 1:20].mean(0) - quiet[:, 1:20].mean(0)).max() > 0.05
    # batch normalisation of several windows equals normalising each
    both = normalize_window(np.stack([raw, raw[::-1]]), g)
    np.testing.assert_allclose(both[1], normalize_window(raw[::-1].copy(), g), atol=1e-5)
    assert FeatureParams.from_dict(g.to_dict()) == g


def test_channel_mean_removes_a_fixed_microphone_colouration(clips):
    audio = load_utterance(DATA, clips[0])
    raw = window_frames(audio, P)
    g = FeatureParams(cmvn=False, global_mean=tuple(raw.mean(0)), global_std=tuple(raw.std(0) + 1))
    c = FeatureParams(**{**g.to_dict(), "channel_mean": True})
    bright = aug.peaking_eq(audio, 3000, 12, 1.0)
    plain_c, bright_c = window_features(audio, c), window_features(bright, c)
    assert np.abs(plain_c[:, :20].mean(0)).max() < 1e-4  # every static coefficient centred per window
    # the same utterance through another microphone: much closer with the channel mean removed
    err_global = np.abs(window_features(bright, g) - window_features(audio, g))[:, :20].mean()
    err_channel = np.abs(bright_c - plain_c)[:, :20].mean()
    assert err_channel < 0.5 * err_global
    # deltas are unaffected by the option, and the parameters round-trip
    np.testing.assert_allclose(plain_c[:, 20:], window_features(audio, g)[:, 20:], atol=1e-6)
    assert FeatureParams.from_dict(c.to_dict()) == c


def test_dynamic_range_floor_hides_how_quiet_the_pauses_are(clips):
    """A studio's near-silent pauses and a laptop's hiss look alike once the floor is on."""
    audio = load_utterance(DATA, clips[0])
    floored = FeatureParams(floor_db=40.0)
    log_mel = log_mel_spectrogram(fit_to_window(audio, P.window_samples), P)
    frame_db = 10 * np.log10(np.mean(10 ** (log_mel / 10), axis=1))
    assert frame_db.max() - frame_db.min() > 55  # RAVDESS: pauses far under the speech
    out = floor_dynamic_range(log_mel, 40.0)
    out_db = 10 * np.log10(np.mean(10 ** (out / 10), axis=1))
    assert out_db.max() - out_db.min() < 41
    loud = log_mel[frame_db > frame_db.max() - 10]
    assert np.median(np.abs(out[frame_db > frame_db.max() - 10] - loud)) < 0.5  # the speech is untouched
    # the same utterance with a microphone's hiss 45 dB under it: much closer with the floor
    rng = np.random.default_rng(0)
    hiss = aug.mix_at_snr(audio, rng.standard_normal(audio.size).astype(np.float32), 45.0)
    err_plain = np.abs(window_frames(hiss, P) - window_frames(audio, P))[:, :20].mean()
    err_floor = np.abs(window_frames(hiss, floored) - window_frames(audio, floored))[:, :20].mean()
    assert err_floor < 0.5 * err_plain
    # independent of the input level, and stored with the parameters
    np.testing.assert_allclose(window_frames(audio * 0.05, floored)[:, 1:], window_frames(audio, floored)[:, 1:],
                               atol=1e-2)
    assert FeatureParams.from_dict(floored.to_dict()) == floored
    assert floored.to_dict()["floor_db"] == 40.0 and P.floor_db == 0.0


def test_dc_removal_makes_a_sound_cards_offset_invisible(clips):
    """A constant or slowly drifting offset (cheap USB microphones, some laptop codecs) leaves the features
    as they were, in models built with ``dc_block``; older models' features are unchanged."""
    audio = load_utterance(DATA, clips[0])
    blocked = FeatureParams(floor_db=40.0, dc_block=True)
    plain = FeatureParams(floor_db=40.0)
    ramp = np.linspace(-0.01, 0.02, audio.size, dtype=np.float32)  # an offset that drifts as the card warms
    for offset in (np.float32(0.01), np.float32(-0.05), ramp):
        np.testing.assert_allclose(window_frames(audio + offset, blocked), window_frames(audio, blocked), atol=0.05)
        assert np.abs(window_frames(audio + offset, plain) - window_frames(audio, plain)).max() > 0.2
    # clean speech barely changes (the corpora have no offset), so the same network would still fit
    assert np.abs(window_frames(audio, blocked) - window_frames(audio, plain))[:, :20].mean() < 0.05
    assert FeatureParams.from_dict(blocked.to_dict()) == blocked
    assert FeatureParams.from_dict({k: v for k, v in plain.to_dict().items() if k != "dc_block"}) == plain


def test_without_dc_removes_a_constant_and_a_steady_drift_exactly():
    rng = np.random.default_rng(3)
    tone = (0.1 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)).astype(np.float32)
    np.testing.assert_allclose(without_dc(tone + np.float32(0.3)), without_dc(tone), atol=1e-5)
    drift = np.linspace(0.0, 0.2, tone.size, dtype=np.float32)
    np.testing.assert_allclose(without_dc(tone + drift), without_dc(tone), atol=1e-5)
    assert abs(np.mean(without_dc(tone) ** 2) / np.mean(tone**2) - 1) < 0.01  # a voice's 200 Hz passes
    noise = rng.standard_normal(4000).astype(np.float32)
    out = without_dc(noise)  # 200 Hz and up pass: the energy of white noise is kept within 1%
    assert abs(np.mean(out**2) / np.mean((noise - noise.mean()) ** 2) - 1) < 0.01
    assert without_dc(np.zeros(0, np.float32)).size == 0 and np.all(without_dc(np.ones(1, np.float32)) == 0)


def test_pitch_tracker_finds_the_fundamental_of_harmonic_tones():
    """A voice-like tone (harmonics 1-5, falling 1/k) at several F0s, and its missing-octave trap."""
    p = FeatureParams(pitch=True)
    t = np.arange(p.window_samples) / p.sample_rate
    for f0 in (80.0, 130.0, 220.0, 400.0):
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)).astype(np.float32)
        cols = pitch_frames(0.1 * tone, p)
        assert cols.shape == (P.n_frames, 2)
        np.testing.assert_allclose(100 * 2 ** cols[:, 0], f0, rtol=0.01)  # not f0/2: the octave cost
        assert cols[:, 1].min() > 0.9  # strongly voiced
    quiet = pitch_frames(np.zeros(p.window_samples, np.float32), p)
    assert np.all(quiet == 0)  # no voiced frame: F0 column at 100 Hz (0), voicing 0


def test_pitch_of_real_voices_separates_a_man_from_a_woman():
    """RAVDESS actor 1 is a man, actor 2 a woman (same sentence, neutral): typical speaking F0s."""
    p = FeatureParams(pitch=True)
    medians = []
    for actor in ("01", "02"):
        audio = aug.trim_silence(load_audio(DATA / f"ravdess/Actor_{actor}/03-01-01-01-01-01-{actor}.flac", 16000))
        cols = pitch_frames(fit_to_window(audio, p.window_samples), p)
        voiced = cols[:, 1] > 0
        assert 0.2 < voiced.mean() < 0.9  # speech with pauses and unvoiced consonants
        medians.append(100 * 2 ** np.median(cols[voiced, 0]))
    assert 80 < medians[0] < 160 < medians[1] < 300


def test_pitch_columns_follow_the_cepstra(clips):
    audio = load_utterance(DATA, clips[0])
    with_pitch = window_frames(audio, FeatureParams(pitch=True))
    assert with_pitch.shape == (P.n_frames, P.n_features + 2) == (P.n_frames, FeatureParams(pitch=True).n_features)
    np.testing.assert_array_equal(with_pitch[:, : P.n_features], window_frames(audio, P))


def test_relative_pitch_ignores_the_voice_level(clips):
    """Global normalisation with pitch_relative: the same utterance an octave higher has the same features."""
    raw = window_frames(load_utterance(DATA, clips[0]), FeatureParams(pitch=True))
    n = raw.shape[1]
    p = FeatureParams(pitch=True, pitch_relative=True, cmvn=False, global_mean=(0.0,) * n, global_std=(1.0,) * n)
    higher = raw.copy()
    higher[:, 60] += 1.0  # one octave up (log2 F0)
    np.testing.assert_allclose(normalize_window(higher, p), normalize_window(raw, p), atol=1e-5)
    assert abs(normalize_window(raw, p)[:, 60].mean()) < 1e-5
    absolute = FeatureParams(**{**p.to_dict(), "pitch_relative": False})
    assert not np.allclose(normalize_window(higher, absolute), normalize_window(raw, absolute))


def test_session_references_keep_the_level_an_emotion_adds_but_not_the_voice_or_the_gain(clips):
    """Session references: loudness and F0 relative to the speaker's mean level, so a higher voice or a
    louder microphone changes nothing, while an angry window keeps its higher pitch and level than the
    same speaker's neutral one (which per-window centring loses)."""
    from realtime_ser.dsp.features import session_columns, session_levels
    from tools.fitting import speaker_references

    p0 = FeatureParams(pitch=True)
    raw = np.stack([window_frames(aug.trim_silence(load_audio(DATA / f"ravdess/Actor_01/03-01-{e}-01-01-01-01.flac",
                                                              16000)), p0) for e in ("01", "05")])  # neutral, angry
    n = raw.shape[-1]
    p = FeatureParams(pitch=True, pitch_relative=True, pitch_session=True, session_level=True, cmvn=False,
                      global_mean=(0.0,) * n, global_std=(1.0,) * n)
    assert session_columns(p) == [0, 60]
    assert session_columns(FeatureParams(**{**p.to_dict(), "cmvn": True})) == []  # per-window CMVN: none
    levels = session_levels(raw, p)
    assert levels.shape == (2, 2)
    assert levels[1, 1] > levels[0, 1] + 0.2  # anger raises this speaker's pitch by more than a fifth of an octave
    assert levels[1, 0] > levels[0, 0]  # and the level
    refs = speaker_references(raw, np.arange(2), ["ravdess:01", "ravdess:01"], p)
    np.testing.assert_allclose(refs, [levels.mean(0)] * 2, rtol=1e-5)
    feats = normalize_window(raw, p, refs)
    for col in (0, 60):
        assert feats[1, :, col].mean() > feats[0, :, col].mean() + 0.2
    other = raw.copy()
    other[..., 60] += 1.0  # the same speaker an octave higher,
    other[..., 0] += 3.0  # through a louder microphone: the session reference moves with both
    np.testing.assert_allclose(normalize_window(other, p, speaker_references(other, np.arange(2), ["a", "a"], p)),
                               feats, atol=1e-4)
    cold = normalize_window(raw, p, np.array([[np.nan, np.nan], refs[1]], np.float32))  # no reference yet
    assert abs(cold[0, :, 60].mean()) < 1e-4 and abs(cold[0, :, 0].mean()) < 1e-3 and np.allclose(cold[1], feats[1])


def test_training_references_move_with_each_variants_own_change():
    """A variant made louder and higher than its clean clip gets a reference moved by as much, so its
    level relative to the session is the clean clip's (the augmentation is a recording set-up, not an emotion)."""
    from realtime_ser.dsp.features import session_levels
    from realtime_ser.errors import ConfigError
    from tools.fitting import speaker_references

    n = 62
    p = FeatureParams(pitch=True, pitch_relative=True, pitch_session=True, session_level=True, cmvn=False,
                      global_mean=(0.0,) * n, global_std=(1.0,) * n)
    x = np.random.default_rng(0).normal(size=(4, 10, n)).astype(np.float32)  # clips 0 and 1, clean rows 0 and 2
    x[1] = x[0]
    x[1, :, 0] += 2.0  # a louder
    x[1, :, 60] += 0.5  # and higher variant of clip 0
    refs = speaker_references(x, np.array([0, 0, 1, 1]), ["s", "s"], p, variants=True)
    levels = session_levels(x, p)
    np.testing.assert_allclose(refs[0], (levels[0] + levels[2]) / 2, atol=1e-5)  # the speaker's clean clips
    np.testing.assert_allclose(refs[1] - refs[0], [2.0, 0.5], atol=1e-5)
    feats = normalize_window(x, p, refs)
    np.testing.assert_allclose(feats[1], feats[0], atol=1e-4)
    plain = normalize_window(x, p, speaker_references(x, np.array([0, 0, 1, 1]), ["s", "s"], p))
    assert not np.allclose(plain[1], plain[0], atol=1e-2)  # without: the variant reads as louder and higher
    assert speaker_references(x, np.array([0, 0, 1, 1]), ["s", "s"], FeatureParams()) is None  # no session columns
    with pytest.raises(ConfigError, match="speaker of every clip"):
        speaker_references(x, np.array([0, 0, 1, 1]), None, p)


def test_session_reference_waits_for_a_few_windows_then_follows_the_latest_speaker():
    from realtime_ser.dsp.session_reference import SessionReference

    ref = SessionReference(2, min_windows=3, max_windows=5)
    ref.update(np.array([[1.0, 0.0], [np.nan, 1.0]]))
    assert ref.windows == 1 and np.isnan(ref.value).all()  # too little speech yet: no reference
    ref.update(np.array([[2.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_allclose(ref.value, [2.0, 0.0])
    ref.update(np.full((5, 2), -1.0))  # a new speaker: the oldest windows drop out
    assert ref.windows == 5
    np.testing.assert_allclose(ref.value, [-1.0, -1.0])
    ref.reset()
    assert ref.windows == 0 and np.isnan(ref.value).all()
    with pytest.raises(ValueError):
        SessionReference(2, min_windows=0)
