"""Corpus indexers: real files in ../shared/data and synthetic SAVEE / CREMA-D layouts."""

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from realtime_ser.errors import ConfigError
from tools.corpora import (
    Clip, index_data_dir, label_of, load_label_config, parse_path, read_manifest, write_manifests,
)

DATA = Path(os.environ.get("REALTIME_SER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def clips():
    return index_data_dir(DATA)


def test_real_corpora_counts(clips):
    counts = Counter(c.corpus for c in clips)
    assert counts == {"ravdess": 1440, "tess": 2800, "emodb": 535, "crema-d": 6}
    assert len({c.speaker for c in clips if c.corpus == "ravdess"}) == 24
    assert {c.speaker for c in clips if c.corpus == "tess"} == {"tess:OAF", "tess:YAF"}
    assert len({c.speaker for c in clips if c.corpus == "emodb"}) == 10


def test_ravdess_fields(clips):
    clip = next(c for c in clips if c.path.endswith("Actor_07/03-01-02-01-02-01-07.flac"))
    assert (clip.corpus, clip.speaker, clip.gender, clip.language, clip.emotion) == (
        "ravdess", "ravdess:07", "m", "en", "calm")
    genders = {c.speaker: c.gender for c in clips if c.corpus == "ravdess"}
    assert sum(g == "f" for g in genders.values()) == 12
    assert genders["ravdess:24"] == "f"


def test_tess_and_emodb_fields(clips):
    tess = next(c for c in clips if c.path.endswith("OAF_back_angry.flac"))
    assert (tess.speaker, tess.gender, tess.emotion, tess.text) == ("tess:OAF", "f", "angry", "back")
    assert Counter(c.emotion for c in clips if c.corpus == "tess")["ps"] == 400
    emodb = next(c for c in clips if c.path.endswith("03a01Fa.flac"))
    assert (emodb.speaker, emodb.gender, emodb.language, emodb.emotion) == ("emodb:03", "m", "de", "happiness")
    assert {c.gender for c in clips if c.speaker == "emodb:08"} == {"f"}


def test_crema_samples_have_no_speaker(clips):
    samples = [c for c in clips if c.corpus == "crema-d"]
    assert {c.emotion for c in samples} == {"anger", "disgust", "fear", "happy", "neutral", "sad"}
    assert {c.speaker for c in samples} == {"crema-d:unknown"}


def test_synthetic_savee_both_layouts(tmp_path):
    for rel in ("AudioData/DC/a01.wav", "AudioData/KL/sa15.wav", "ALL/JE_su03.wav", "ALL/JK_n30.flac",
                "AudioData/XX/a01.wav", "ALL/readme.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = {c.path: c for c in index_data_dir(tmp_path)}
    assert set(found) == {"AudioData/DC/a01.wav", "AudioData/KL/sa15.wav", "ALL/JE_su03.wav", "ALL/JK_n30.flac"}
    assert (found["AudioData/DC/a01.wav"].speaker, found["AudioData/DC/a01.wav"].emotion) == ("savee:DC", "anger")
    assert found["AudioData/KL/sa15.wav"].emotion == "sadness"
    assert (found["ALL/JE_su03.wav"].speaker, found["ALL/JE_su03.wav"].emotion) == ("savee:JE", "surprise")
    assert all(c.gender == "m" and c.language == "en" for c in found.values())


def test_synthetic_crema_d_names_and_demographics(tmp_path):
    for rel in ("AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.mp3", "AudioWAV/1001_DFA_BAD_XX.wav"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "VideoDemographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,C,N\n1002,21,Female,C,N\n")
    found = {c.path: c for c in index_data_dir(tmp_path)}
    assert set(found) == {"AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.mp3"}
    ang = found["AudioWAV/1001_DFA_ANG_XX.wav"]
    assert (ang.corpus, ang.speaker, ang.gender, ang.emotion, ang.text) == ("crema-d", "crema-d:1001", "m", "anger", "DFA")
    assert found["AudioWAV/1002_IEO_HAP_HI.mp3"].gender == "f"


def test_unknown_names_and_song_are_ignored():
    assert parse_path(Path("x/03-02-05-01-01-01-01.wav")) is None  # RAVDESS song
    assert parse_path(Path("x/hello.wav")) is None
    assert parse_path(Path("x/ANG.wav")) is None  # emotion-only name outside a CREMA-D folder


def test_label_config_maps_corpus_words(clips):
    config = load_label_config()
    assert config["labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    by_emotion = {(c.corpus, c.emotion): label_of(c, config) for c in clips}
    assert by_emotion[("ravdess", "calm")] == "neutral"
    assert by_emotion[("emodb", "boredom")] is None
    assert by_emotion[("tess", "ps")] == "surprised"
    assert by_emotion[("crema-d", "anger")] == "angry"


def test_bad_label_config_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"labels": ["a"], "map": {"tess": {"angry": "b"}}}')
    with pytest.raises(ConfigError, match="not in 'labels'"):
        load_label_config(bad)
    with pytest.raises(ConfigError, match="data directory not found"):
        index_data_dir(tmp_path / "missing")


@pytest.mark.parametrize("text, says", [
    # two outputs of one name: the program showed one label with the other's probability
    ('{"labels": ["neutral", "neutral", "angry"], "map": {"savee": {"neutral": "neutral", "anger": "angry"}}}',
     "label 'neutral' is listed twice"),
    # a typo in a corpus or emotion word left those clips out, said only as "too few clips"
    ('{"labels": ["angry"], "map": {"SAVEE": {"anger": "angry"}}}', "'map' names corpus 'SAVEE'"),
    ('{"labels": ["angry"], "map": {"savee": {"angry": "angry"}}}', "map/savee names emotion 'angry'; savee's are"),
    # an output no clip teaches was trained on nothing
    ('{"labels": ["angry", "bored"], "map": {"savee": {"anger": "angry"}}}',
     "no emotion word is mapped to label 'bored'"),
    ('{"labels": [""], "map": {}}', "every label must be a non-empty string"),
    ('["angry"]', "needs a 'labels' list and a 'map' object"),
])
def test_a_label_set_that_would_train_a_wrong_model_is_refused(tmp_path, text, says):
    bad = tmp_path / "labels.json"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_label_config(bad)


def test_manifest_round_trip(clips, tmp_path):
    written = write_manifests(clips, tmp_path)
    assert set(written) == {"ravdess", "tess", "emodb", "crema-d-samples"}
    back = read_manifest(written["emodb"])
    assert back == [c for c in clips if c.corpus == "emodb"]
    assert isinstance(back[0], Clip)


def test_a_folder_holding_the_clips_gets_a_manifest_named_after_it(clips, tmp_path, capsys):
    """Clips right in the data folder were grouped as '.': a hidden '..csv' and '.: 0 clips'."""
    from tools.corpora import main, manifest_groups

    folder = (DATA / next(c.path for c in clips if c.corpus == "emodb")).parent  # .../emodb/wav
    assert main([str(folder), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{folder.name}: 535 clips -> {tmp_path / folder.name}.csv\n"
    assert [p.name for p in tmp_path.iterdir()] == [f"{folder.name}.csv"]
    assert len(read_manifest(tmp_path / f"{folder.name}.csv")) == 535
    # beside a subfolder of the same name, the loose clips keep a manifest of their own
    loose, sub = (Clip(path, "tess", "tess:OAF", "f", "en", "sad") for path in ("a.wav", "wav/b.wav"))
    assert manifest_groups([loose, sub], "wav") == {"wav": [sub], "wav-top-level": [loose]}
