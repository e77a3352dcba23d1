"""Corpus indexers: official file names -> one manifest row per clip.

Each acted-emotion corpus encodes emotion and speaker in its file names.  The
parsers below read those names (any audio extension, so the 16 kHz FLAC copies
in ``../shared/data`` and the official WAV downloads index the same way) and
produce :class:`Clip` rows: corpus, speaker, gender, language and the corpus's
own emotion word.  Mapping emotion words to model labels is configuration
(``tools/labels/*.json``), not code.

Run ``python -m tools.corpora DATA_DIR [--out DIR]`` to write one CSV manifest
per data folder (RAVDESS, TESS, ...) found under ``DATA_DIR``; clips right in ``DATA_DIR``
go to one named after it.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/corpora.py` finds `tools`

from realtime_ser.audio.io import is_audio_file  # noqa: E402
from tools import argument_parser  # noqa: E402

MANIFEST_FIELDS = ("path", "corpus", "speaker", "gender", "language", "emotion", "text")


@dataclass(frozen=True)
class Clip:
    """One labelled clip. ``path`` is relative to the data directory it was indexed from."""

    path: str
    corpus: str
    speaker: str  # unique across corpora: "<corpus>:<id>"
    gender: str  # "m", "f" or "" when the corpus does not say
    language: str
    emotion: str  # the corpus's own emotion word (e.g. "calm", "ps", "boredom")
    text: str = ""

    def to_row(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict) -> "Clip":
        return cls(**{f.name: row.get(f.name, "") or "" for f in fields(cls)})


# --- RAVDESS: 03-01-EE-II-SS-RR-AA (modality, vocal channel, emotion, intensity, statement, repetition, actor)
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}


def parse_ravdess(path: Path) -> Clip | None:
    m = _RAVDESS.match(path.stem)
    if not m:
        return None
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if channel != "01" or emotion not in _RAVDESS_EMOTIONS:  # 02 = song: not part of the speech corpus
        return None
    return Clip(
        path=str(path), corpus="ravdess", speaker=f"ravdess:{actor}",
        gender="m" if int(actor) % 2 else "f", language="en",
        emotion=_RAVDESS_EMOTIONS[emotion], text=f"statement{statement}",
    )


# --- TESS: OAF_back_angry (speaker, word, emotion); 'ps' = pleasant surprise
_TESS = re.compile(r"^(OAF|YAF)_(.+)_(angry|disgust|fear|happy|neutral|ps|sad)$", re.IGNORECASE)


def parse_tess(path: Path) -> Clip | None:
    m = _TESS.match(path.stem)
    if not m:
        return None
    speaker, word, emotion = m.groups()
    return Clip(
        path=str(path), corpus="tess", speaker=f"tess:{speaker.upper()}", gender="f",
        language="en", emotion=emotion.lower(), text=word.lower(),
    )


# --- EMO-DB: 03a01Fa (speaker, text, emotion letter, version)
_EMODB = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")
_EMODB_EMOTIONS = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}
_EMODB_MALE = {"03", "10", "11", "12", "15"}


def parse_emodb(path: Path) -> Clip | None:
    m = _EMODB.match(path.stem)
    if not m:
        return None
    speaker, text, letter, _version = m.groups()
    return Clip(
        path=str(path), corpus="emodb", speaker=f"emodb:{speaker}",
        gender="m" if speaker in _EMODB_MALE else "f", language="de",
        emotion=_EMODB_EMOTIONS[letter], text=text,
    )


# --- SAVEE: AudioData/DC/a01.wav (as distributed) or ALL/DC_a01.wav (common flat copy)
_SAVEE_SPEAKERS = {"DC", "JE", "JK", "KL"}
_SAVEE_EMOTIONS = {
    "a": "anger", "d": "disgust", "f": "fear", "h": "happiness",
    "n": "neutral", "sa": "sadness", "su": "surprise",
}
_SAVEE_FILE = re.compile(r"^(sa|su|a|d|f|h|n)(\d\d)$")
_SAVEE_FLAT = re.compile(r"^(DC|JE|JK|KL)_(sa|su|a|d|f|h|n)(\d\d)$")


def parse_savee(path: Path) -> Clip | None:
    m = _SAVEE_FLAT.match(path.stem)
    if m:
        speaker, code, number = m.groups()
    else:
        m = _SAVEE_FILE.match(path.stem)
        if not m or path.parent.name not in _SAVEE_SPEAKERS:
            return None
        speaker = path.parent.name
        code, number = m.groups()
    return Clip(
        path=str(path), corpus="savee", speaker=f"savee:{speaker}", gender="m",
        language="en", emotion=_SAVEE_EMOTIONS[code], text=f"{code}{number}",
    )


# --- CREMA-D: AudioWAV/1001_DFA_ANG_XX.wav (actor, sentence, emotion, level); the six
# samples in ../shared/data are named by emotion code only (ANG.wav) and have no known speaker.
_CREMA_EMOTIONS = {
    "ANG": "anger", "DIS": "disgust", "FEA": "fear",
    "HAP": "happy", "NEU": "neutral", "SAD": "sad",
}
_CREMA = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_([A-Z]{2})$")
_CREMA_SAMPLE = re.compile(r"^(ANG|DIS|FEA|HAP|NEU|SAD)$")


def parse_crema(path: Path, genders: dict[str, str] | None = None) -> Clip | None:
    m = _CREMA.match(path.stem)
    if m:
        actor, sentence, code, _level = m.groups()
        return Clip(
            path=str(path), corpus="crema-d", speaker=f"crema-d:{actor}",
            gender=(genders or {}).get(actor, ""), language="en",
            emotion=_CREMA_EMOTIONS[code], text=sentence,
        )
    m = _CREMA_SAMPLE.match(path.stem)
    if m and "crema" in path.parent.name.lower():
        return Clip(
            path=str(path), corpus="crema-d", speaker="crema-d:unknown", gender="",
            language="en", emotion=_CREMA_EMOTIONS[m.group(1)], text="",
        )
    return None


def _crema_genders(root: Path) -> dict[str, str]:
    """Actor sex from CREMA-D's VideoDemographics.csv, if the download includes it."""
    for demo in root.rglob("VideoDemographics.csv"):
        with open(demo, newline="", encoding="utf-8", errors="replace") as f:
            return {
                row["ActorID"].strip(): ("m" if row.get("Sex", "").strip().lower().startswith("m") else "f")
                for row in csv.DictReader(f)
                if row.get("ActorID")
            }
    return {}


def parse_path(path: Path, crema_genders: dict[str, str] | None = None) -> Clip | None:
    """The clip a file name describes, or None if no known corpus names files like this."""
    for parser in (parse_ravdess, parse_tess, parse_emodb, parse_savee):
        clip = parser(path)
        if clip is not None:
            return clip
    return parse_crema(path, crema_genders)


def iter_audio_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if is_audio_file(name) and not name.startswith("."):
                yield Path(dirpath) / name


def index_data_dir(data_dir: str | os.PathLike) -> list[Clip]:
    """All clips of known corpora under ``data_dir``, paths relative to it, sorted by path."""
    root = Path(data_dir)
    if not root.is_dir():
        from realtime_ser.errors import ConfigError

        raise ConfigError(f"{root}: data directory not found")
    genders = _crema_genders(root)
    clips = []
    for file in iter_audio_files(root):
        clip = parse_path(file, genders)
        if clip is not None:
            clips.append(Clip(**{**clip.to_row(), "path": file.relative_to(root).as_posix()}))
    return sorted(clips, key=lambda c: c.path)


#: How each corpus is named in messages.
CORPUS_NAMES = {"ravdess": "RAVDESS", "tess": "TESS", "emodb": "EMO-DB", "savee": "SAVEE", "crema-d": "CREMA-D"}
#: The emotion words each indexer gives (a label set's map is written in them).
EMOTION_WORDS = {
    "ravdess": set(_RAVDESS_EMOTIONS.values()),
    "tess": {"angry", "disgust", "fear", "happy", "neutral", "ps", "sad"},
    "emodb": set(_EMODB_EMOTIONS.values()),
    "savee": set(_SAVEE_EMOTIONS.values()),
    "crema-d": set(_CREMA_EMOTIONS.values()),
}


def require_clips(data_dir: str | os.PathLike, corpus: str | None = None) -> list[Clip]:
    """:func:`index_data_dir`, of one ``corpus`` alone if given; a folder without any such clip (empty,
    unrelated files, the wrong folder) is a ConfigError naming it, as a missing one is, rather than
    a tool that goes on with nothing to work on."""
    clips = index_data_dir(data_dir)
    if corpus is not None:
        clips = [c for c in clips if c.corpus == corpus]
    if not clips:
        from realtime_ser.errors import ConfigError

        wanted = (f"{CORPUS_NAMES.get(corpus, corpus)} clips" if corpus
                  else f"clips of a known corpus ({', '.join(CORPUS_NAMES.values())})")
        raise ConfigError(f"{Path(data_dir)}: no {wanted} found (clips are recognised by their corpus's "
                          "official file names)")
    return clips


def evenly_spread(data_dir: str | os.PathLike, corpus: str, count: int) -> list[Path]:
    """The paths of ``count`` clips of ``corpus`` spread evenly over its sorted index (every actor,
    every emotion), for a benchmark; a ConfigError as :func:`require_clips` without any."""
    clips = [Path(data_dir, c.path) for c in require_clips(data_dir, corpus)]
    return clips[:: max(1, len(clips) // count)][:count]


def write_manifest(clips: Iterable[Clip], path: str | os.PathLike) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        for clip in clips:
            writer.writerow(clip.to_row())


def read_manifest(path: str | os.PathLike) -> list[Clip]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Clip.from_row(row) for row in csv.DictReader(f)]


def manifest_groups(clips: Iterable[Clip], top_level: str = "top-level") -> dict[str, list[Clip]]:
    """The clips by top-level data folder; clips directly in the data folder under ``top_level`` (the
    data folder's own name, in ``main``), or ``<top_level>-top-level`` where a subfolder has that name.
    Such clips were grouped as ``.``: a hidden manifest ``..csv``, and counted as 0."""
    groups: dict[str, list[Clip]] = {}
    loose: list[Clip] = []
    for clip in clips:
        if "/" in clip.path:
            groups.setdefault(clip.path.split("/", 1)[0], []).append(clip)
        else:
            loose.append(clip)
    if loose:
        name = top_level if top_level and not top_level.startswith(".") else "top-level"
        groups[f"{name}-top-level" if name in groups else name] = loose
    return dict(sorted(groups.items()))


def write_manifests(clips: list[Clip], out_dir: str | os.PathLike, top_level: str = "top-level") -> dict[str, Path]:
    """One manifest per top-level data folder (``ravdess.csv``, ``tess.csv``, ...); see :func:`manifest_groups`."""
    written = {}
    for folder, group in manifest_groups(clips, top_level).items():
        target = Path(out_dir) / f"{folder}.csv"
        write_manifest(group, target)
        written[folder] = target
    return written


def load_label_config(path: str | os.PathLike | None = None) -> dict:
    """Read a label-set file (see ``tools/labels/default.json``) and check its shape."""
    import json

    from realtime_ser.errors import ConfigError

    p = Path(path) if path else Path(__file__).parent / "labels" / "default.json"
    try:
        config = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: cannot read label set ({exc})") from None
    labels, mapping = (config.get("labels"), config.get("map")) if isinstance(config, dict) else (None, None)
    if not isinstance(labels, list) or not labels or not isinstance(mapping, dict):
        raise ConfigError(f"{p}: label set needs a 'labels' list and a 'map' object")
    if not all(isinstance(label, str) and label for label in labels):
        raise ConfigError(f"{p}: every label must be a non-empty string")
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:  # two outputs with one name: the program would show one and lose the other's probability
        raise ConfigError(f"{p}: label {twice[0]!r} is listed twice in 'labels'")
    mapped = set()
    for corpus, table in mapping.items():
        if corpus not in EMOTION_WORDS:  # a typo ("SAVEE") would leave that corpus out without a word
            raise ConfigError(f"{p}: 'map' names corpus {corpus!r}; the corpora are {', '.join(EMOTION_WORDS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{p}: map/{corpus} must be an object of emotion word -> label")
        for word, label in table.items():
            if word not in EMOTION_WORDS[corpus]:
                raise ConfigError(f"{p}: map/{corpus} names emotion {word!r}; {corpus}'s are "
                                  f"{', '.join(sorted(EMOTION_WORDS[corpus]))}")
            if label is not None and label not in labels:
                raise ConfigError(f"{p}: {corpus}/{word} maps to {label!r}, which is not in 'labels'")
            mapped.add(label)
    unmapped = [label for label in labels if label not in mapped]
    if unmapped:  # an output no clip can teach: it would be trained on nothing
        raise ConfigError(f"{p}: no emotion word is mapped to label {unmapped[0]!r}")
    return config


def label_of(clip: Clip, config: dict) -> str | None:
    """The model label of a clip under a label set; None = not used."""
    return config["map"].get(clip.corpus, {}).get(clip.emotion)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("corpora", __doc__.split("\n\n")[0])
    parser.add_argument("data", help="data directory holding corpus folders (e.g. ../shared/data)")
    parser.add_argument("--out", default=".cache/manifests", help="where to write the CSV manifests")
    args = parser.parse_args(argv)
    from realtime_ser.errors import SerError

    top_level = Path(args.data).resolve().name  # names the manifest of clips right in the data folder
    try:
        clips = require_clips(args.data)
        try:
            written = write_manifests(clips, args.out, top_level)
        except OSError as exc:
            raise SerError(f"{args.out}: cannot write the manifests ({exc.strerror or exc})") from None
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    groups = manifest_groups(clips, top_level)
    for folder, target in written.items():
        print(f"{folder}: {len(groups[folder])} clips -> {target}")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
