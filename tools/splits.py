"""Speaker-independent train / validation / test splits, fixed by a rule.

Held-out speakers are chosen by identity (balanced by gender), never by
looking at results.  Test speakers never appear in training or validation,
which :func:`assert_speaker_disjoint` checks every time a split is made.

* RAVDESS: test actors 19-24 (3 m, 3 f), validation 15-18 (2 m, 2 f), rest train.
* EMO-DB: test speakers 03, 10 (m) and 08, 09 (f); validation 11 (m), 13 (f); rest train.
* TESS: its two speakers are both needed for training (train only).
* SAVEE (4 male speakers): test KL, validation JK, rest train.
* CREMA-D: the six samples without a known speaker are "extra" (never trained on,
  an out-of-corpus sanity check); a full download is split by actor id
  (ids ending in 0 or 5 -> test, 1 -> validation).

Cross-fitted training (``--cross-fit``) deals the validation speakers into folds by a
rule too (:func:`validation_folds`): per corpus, ordered by gender then id, round-robin.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/splits.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

from collections.abc import Iterable

from tools.corpora import Clip

TRAIN, VAL, TEST, EXTRA = "train", "val", "test", "extra"

SPLIT_RULES: dict[str, dict[str, set[str]]] = {
    "ravdess": {TEST: {f"{a:02d}" for a in range(19, 25)}, VAL: {f"{a:02d}" for a in range(15, 19)}},
    "emodb": {TEST: {"03", "10", "08", "09"}, VAL: {"11", "13"}},
    "tess": {TEST: set(), VAL: set()},
    "savee": {TEST: {"KL"}, VAL: {"JK"}},
}


def split_of(clip: Clip) -> str:
    corpus, _, speaker = clip.speaker.partition(":")
    if corpus == "crema-d":
        if speaker == "unknown" or not speaker.isdigit():
            return EXTRA
        return TEST if speaker[-1] in "05" else VAL if speaker[-1] == "1" else TRAIN
    rule = SPLIT_RULES.get(corpus)
    if rule is None:  # a corpus without a rule is never trained on by accident
        return EXTRA
    if speaker in rule[TEST]:
        return TEST
    if speaker in rule[VAL]:
        return VAL
    return TRAIN


def assert_speaker_disjoint(splits: dict[str, Iterable[Clip]]) -> None:
    """Raise AssertionError if any speaker appears in more than one split."""
    seen: dict[str, str] = {}
    for name, clips in splits.items():
        for clip in clips:
            other = seen.setdefault(clip.speaker, name)
            if other != name and clip.speaker.split(":")[1] != "unknown":
                raise AssertionError(f"speaker {clip.speaker} is in both {other} and {name}")


def make_splits(clips: Iterable[Clip]) -> dict[str, list[Clip]]:
    """Clips grouped by split, speaker-disjointness asserted."""
    out: dict[str, list[Clip]] = {TRAIN: [], VAL: [], TEST: [], EXTRA: []}
    for clip in clips:
        out[split_of(clip)].append(clip)
    assert_speaker_disjoint(out)
    return out


def validation_folds(clips: list[Clip], k: int) -> list[int]:
    """Fold (0 .. k-1) of each validation clip, by speaker: per corpus, speakers ordered by gender then id
    and dealt round-robin, so each fold gets both sexes where the corpus has them.

    A corpus with fewer than ``k`` validation speakers leaves some folds without it.
    """
    fold_of: dict[str, int] = {}
    for corpus in sorted({c.corpus for c in clips}):
        speakers = sorted({(c.gender, c.speaker) for c in clips if c.corpus == corpus})
        fold_of.update({speaker: i % k for i, (_, speaker) in enumerate(speakers)})
    return [fold_of[c.speaker] for c in clips]


def describe(splits: dict[str, list[Clip]]) -> dict[str, dict[str, dict]]:
    """Per split and corpus: clip count and speakers (for the model card)."""
    table: dict[str, dict[str, dict]] = {}
    for name, clips in splits.items():
        for clip in clips:
            entry = table.setdefault(name, {}).setdefault(clip.corpus, {"clips": 0, "speakers": set()})
            entry["clips"] += 1
            entry["speakers"].add(clip.speaker.split(":")[1])
    return {
        name: {c: {"clips": e["clips"], "speakers": sorted(e["speakers"])} for c, e in corpora.items()}
        for name, corpora in table.items()
    }


def learnt_from(table: dict[str, dict[str, dict]], cross_fit: bool) -> dict[str, dict]:
    """Per corpus, the clips and speakers a model trained on, from :func:`describe`'s table.

    Cross-fitted networks train on the validation speakers too (each on all but its own fold).
    """
    merged: dict[str, dict] = {}
    for part in (TRAIN, VAL) if cross_fit else (TRAIN,):
        for corpus, v in table.get(part, {}).items():
            entry = merged.setdefault(corpus, {"clips": 0, "speakers": []})
            entry["clips"] += v["clips"]
            entry["speakers"] = sorted({*entry["speakers"], *v["speakers"]})
    return merged

