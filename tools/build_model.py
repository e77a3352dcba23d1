"""The one command: index corpora, cache features, train, export, evaluate, write the model card.

    python -m tools.build_model --data ../shared/data

Fixed seeds throughout; features are cached under ``.cache/features`` so a
re-run only trains.  The recipe was chosen on the validation speakers; the
shipped model is trained on the training speakers and early-stopped on the
validation ones (from 1.5.1: refitting on both lost 3.8 points on a new corpus);
``--refit`` fits on training + validation speakers for the fixed schedule
instead, and ``--cross-fit`` trains each network on the training speakers plus
all but one fold of the validation speakers, early-stopping on that fold
(:mod:`tools.fitting`).  Test speakers are only scored.
Writes ``models/ser_int8.tflite`` (the program's default), ``models/ser_float32.tflite``,
``models/metrics.json``, confusion-matrix PNGs and the model card ``models/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/build_model.py` finds `tools`

import numpy as np  # noqa: E402

from realtime_ser.console import non_negative_number, number_arg  # noqa: E402
from realtime_ser.dsp.features import FeatureParams, normalize_window  # noqa: E402
from realtime_ser.errors import ConfigError, SerError  # noqa: E402
from realtime_ser.jsonfile import read_json  # noqa: E402
from tools import (  # noqa: E402
    argument_parser, corpora, count_arg, dataset, require_training_extra, seed_arg, splits, writable_folder,
)
from tools.train import TrainConfig, config_with  # noqa: E402

MODEL_VERSION = "1.6.0"
NORMS = ("window", "global", "channel")
PITCH = ("off", "absolute", "relative", "session")
#: The recipe's pitch columns: none. Relative pitch gained on the validation speakers but lost on a
#: new recording set-up once refitted (models/DESIGN_LOG.md), so it stays an option.
PITCH_DEFAULT = "off"
#: The recipe's log-mel floor (dB under the loudest frame; model 1.5.0 on, see models/DESIGN_LOG.md).
FLOOR_DB = 40.0
#: Cepstra per frame (each with a delta and a delta-delta).
N_MFCC = 20
#: --floor-db: 0 = no floor; a negative floor or nan makes no sense.
floor_db_arg = non_negative_number
#: --n-mfcc: cepstra of the mel bands, so from 1 to their number.
n_mfcc_arg = number_arg(int, "a whole number", lambda v: 1 <= v <= FeatureParams.n_mels,
                        f"a whole number from 1 to {FeatureParams.n_mels}")
#: Each corpus's name and licence (../shared/data/README.md), and whether its terms forbid
#: commercial use: a model trained on it inherits that. In the order a licence names them.
CORPUS_LICENCES = {
    "ravdess": ("RAVDESS", "CC BY-NC-SA 4.0", True),
    "tess": ("TESS", "CC BY-NC-ND 4.0", True),
    "emodb": ("EMO-DB", "free for research", True),
    "savee": ("SAVEE", "free for research", True),
    "crema-d": ("CREMA-D", "ODbL 1.0, contents DbCL 1.0", False),
}


def model_licence(corpora_used) -> str:
    """The licence a model trained on ``corpora_used`` carries (its metadata, its card)."""
    known = [c for c in CORPUS_LICENCES if c in corpora_used]
    parts = [f"{CORPUS_LICENCES[c][0]} ({CORPUS_LICENCES[c][1]})" for c in known]
    parts += [f"{c} (see its licence)" for c in sorted(set(corpora_used) - set(known))]
    trained = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if "ravdess" in known:  # its ShareAlike terms carry over to what is made from it
        head = "CC BY-NC-SA 4.0 (non-commercial)"
    elif any(CORPUS_LICENCES[c][2] for c in known):
        head = "non-commercial (research use)"
    else:
        head = "as the corpora's licences allow"
    return f"{head}: trained on {trained}"


def check_holdout(clips_trained: list[corpora.Clip], corpus: str, option: str, data_dir: Path) -> None:
    """A corpus left out of training (``option`` names it) must be one trained on, and not the only
    one: the check comes before the work, not as a traceback after it."""
    trained = {c.corpus for c in clips_trained}
    if corpus not in trained:
        raise ConfigError(f"{option} {corpus}: no training clips of that corpus in {data_dir} "
                          f"(corpora trained on there: {', '.join(sorted(trained)) or 'none'})")
    if trained == {corpus}:
        raise ConfigError(f"{option} {corpus}: the only corpus trained on in {data_dir}; without it nothing "
                          "is left to train on (add another corpus, or leave none out)")


def labelled(clips: list[corpora.Clip], config: dict) -> tuple[list[corpora.Clip], np.ndarray]:
    keep, labels = [], []
    for clip in clips:
        label = corpora.label_of(clip, config)
        if label is not None:
            keep.append(clip)
            labels.append(config["labels"].index(label))
    return keep, np.array(labels, dtype=np.int64)


def prepare(data_dir: Path, label_config: dict, params: FeatureParams, variants: int, seed: int,
            cache_dir: Path, workers: int, refit: bool = False, cross_fit: bool = False,
            evaluate: bool = True, holdout: tuple[str, str, bool] | None = None, chain: bool = False) -> dict:
    """Everything the training and the evaluation need, from the cache when possible.

    ``refit``: the validation speakers join the training split (augmented variants like it), for the
    final fit of a recipe already chosen on them; nothing is left to early-stop on, so training runs its
    fixed schedule.  ``cross_fit``: augmented variants of the validation clips too, kept apart
    (``val_variants``) for :func:`tools.fitting.cross_fitted`.  Test speakers stay out either way.
    ``chain``: the augmentation's recording chains too (tools/augment.py). ``evaluate``: test speakers are
    needed; ``holdout``: ``(option, corpus, asked for)``, a corpus left
    out of a second training, checked with the splits before any feature is computed (the default
    one is skipped where the data lacks it); ``data["holdout"]`` is the corpus, or None.
    """
    if refit and cross_fit:
        raise ConfigError("--refit and --cross-fit are two ways of using the validation speakers: pick one")
    clips = corpora.require_clips(data_dir)
    corpora.write_manifests(clips, cache_dir.parent / "manifests")
    groups = splits.make_splits(clips)
    data: dict = {"splits": splits.describe(groups), "params": params}
    for name in (splits.TRAIN, splits.VAL, splits.TEST, splits.EXTRA):
        kept, labels = labelled(groups[name], label_config)
        data[name] = {"clips": kept, "labels": labels}
    train_clips = data[splits.TRAIN]["clips"]
    if len(train_clips) < dataset.BABBLE_TALKERS:  # e.g. --data naming the CREMA-D samples alone (never trained on)
        raise ConfigError(f"{data_dir}: too few clips to train on ({len(train_clips)} of training speakers with a "
                          f"label in the label set, at least {dataset.BABBLE_TALKERS} needed: RAVDESS, TESS, EMO-DB, "
                          "SAVEE or a full CREMA-D download)")
    _check_speakers(data, data_dir, need_val=not refit, need_test=evaluate)
    data["holdout"] = None
    if holdout is not None:
        option, corpus, asked = holdout
        if asked or corpus in {c.corpus for c in train_clips}:
            check_holdout(train_clips, corpus, option, data_dir)
            data["holdout"] = corpus
    data["babble_train"] = dataset.babble_bank(data_dir, train_clips, seed=seed)
    # Noise for evaluation: babble of TRAINING speakers (never the test speaker), other seed.
    data["babble_eval"] = dataset.babble_bank(data_dir, train_clips, seed=seed + 100)
    data[splits.TRAIN]["features"] = dataset.train_features(
        data_dir, train_clips, params, variants, seed, data["babble_train"], cache_dir, workers, chain=chain)
    for name in (splits.VAL, splits.TEST, splits.EXTRA):
        data[name]["features"] = dataset.eval_features(
            data_dir, data[name]["clips"], params, cache_dir=cache_dir, workers=workers, desc=f"{name} features")
    data["refit"], data["cross_fit"] = refit, cross_fit
    if refit or cross_fit:  # seed + 1: other augmentation draws than the training clips'
        more = dataset.train_features(data_dir, data[splits.VAL]["clips"], params, variants, seed + 1,
                                      data["babble_train"], cache_dir, workers, chain=chain)
        if refit:
            join_validation(data, groups, more)
        else:
            data["val_variants"] = more
    return data


def _check_speakers(data: dict, data_dir: Path, need_val: bool, need_test: bool) -> None:
    """Validation speakers to early-stop on and test speakers to score, or a one-line error now (the
    split rule, tools/splits.py, holds speakers of each corpus out; a corpus of two speakers has none)."""
    for name, needed, why, way_out in ((splits.VAL, need_val, "to early-stop on", "--refit trains without them"),
                                       (splits.TEST, need_test, "to evaluate on", "--no-eval skips evaluation")):
        if needed and not len(data[name]["clips"]):
            raise ConfigError(f"{data_dir}: no {name} speakers {why} (tools/splits.py holds speakers of each "
                              f"corpus out; these corpora have too few, or none labelled); {way_out}")


def join_validation(data: dict, groups: dict, val_variants: dataset.FeatureSet) -> None:
    """Move the validation clips (with their augmented ``val_variants``) into the training split."""
    tr, val = data[splits.TRAIN], data[splits.VAL]
    tr["features"] = dataset.FeatureSet(
        np.concatenate([tr["features"].x, val_variants.x]),
        np.concatenate([tr["features"].clip_index, val_variants.clip_index + len(tr["clips"])]))
    tr["clips"] = tr["clips"] + val["clips"]
    tr["labels"] = np.concatenate([tr["labels"], val["labels"]])
    data["validation_speakers"] = data["splits"].pop(splits.VAL, {})
    data["splits"] = splits.describe({splits.TRAIN: groups[splits.TRAIN] + groups[splits.VAL],
                                      splits.TEST: groups[splits.TEST], splits.EXTRA: groups[splits.EXTRA]})


def global_norm_params(base: FeatureParams, raw: np.ndarray, seed: int, rows: int = 3000,
                       channel_mean: bool = False) -> FeatureParams:
    """FeatureParams with per-feature mean/std of (a sample of) the training windows."""
    rng = np.random.default_rng(seed)
    sample = raw[rng.choice(len(raw), size=min(rows, len(raw)), replace=False)].astype(np.float64)
    flat = sample.reshape(-1, sample.shape[-1])
    return FeatureParams(**{**base.to_dict(), "cmvn": False, "channel_mean": channel_mean,
                            "global_mean": tuple(round(float(v), 4) for v in flat.mean(0)),
                            "global_std": tuple(round(float(v), 4) for v in flat.std(0) + 1e-3)})


def feature_params(norm: str, raw: np.ndarray, seed: int, base: FeatureParams) -> FeatureParams:
    """``base`` (what the cache was computed with) set to normalisation mode ``norm`` (one of NORMS),
    statistics from ``raw``."""
    if norm == "window":
        return base
    return global_norm_params(base, raw, seed, channel_mean=norm == "channel")


def base_params(pitch: str, floor_db: float = FLOOR_DB, n_mfcc: int = N_MFCC,
                session_level: bool = False, dc_block: bool = True) -> FeatureParams:
    """The feature set a build extracts (``pitch``: one of PITCH; ``session_level``: loudness relative
    to the session's; ``dc_block``: each window's DC offset removed); the cache ignores the
    normalisation-only settings."""
    return FeatureParams(pitch=pitch != "off", pitch_relative=pitch in ("relative", "session"),
                         pitch_session=pitch == "session", session_level=session_level, floor_db=floor_db,
                         n_mfcc=n_mfcc, dc_block=dc_block)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("build_model", "Train, export and evaluate the bundled emotion model.")
    parser.add_argument("--data", default="../shared/data", help="data directory with the corpora")
    parser.add_argument("--labels", default=None, help="label-set JSON (default tools/labels/default.json)")
    parser.add_argument("--out", default="models", help="output folder for models and model card")
    parser.add_argument("--cache", default=".cache/features", help="feature cache folder")
    parser.add_argument("--variants", type=count_arg, default=10, help="cached waveform variants per training clip")
    parser.add_argument("--epochs", type=count_arg, default=TrainConfig.epochs,
                        help=f"training epochs per network (default: {TrainConfig.epochs})")
    parser.add_argument("--seed", type=seed_arg, default=1, help="seed of augmentation and training (default: 1)")
    parser.add_argument("--workers", type=count_arg, default=2, help="feature extraction processes")
    parser.add_argument("--no-eval", action="store_true", help="skip evaluation and model card (development)")
    parser.add_argument("--norm", choices=NORMS, default="global",
                        help="feature normalisation: per-window CMVN; training-set statistics + per-window level "
                             "(global); or global plus per-window cepstral mean subtraction (channel)")
    parser.add_argument("--pitch", choices=PITCH, default=PITCH_DEFAULT,
                        help="log-F0 and voicing columns after the MFCCs: off, absolute, or with each window's "
                             f"mean log-F0 removed (relative), or the speaker's / session's mean (session); "
                             f"default {PITCH_DEFAULT}")
    parser.add_argument("--session-level", action="store_true",
                        help="loudness (c0) relative to the session's (speaker's) mean level, not the window's")
    parser.add_argument("--floor-db", type=floor_db_arg, default=FLOOR_DB, metavar="DB",
                        help=f"dynamic-range floor of the log-mel spectrum, dB under the window's loudest frame "
                             f"(default {FLOOR_DB:g}; 0 = none, as models up to 1.4.0)")
    parser.add_argument("--n-mfcc", type=n_mfcc_arg, default=N_MFCC, metavar="N",
                        help=f"MFCCs per frame, of the 40 mel bands (default {N_MFCC})")
    parser.add_argument("--dc-block", action=argparse.BooleanOptionalAction, default=True,
                        help="remove each window's DC offset before the features (default; --no-dc-block: "
                             "as models up to 1.5.1)")
    parser.add_argument("--chain-augment", action=argparse.BooleanOptionalAction, default=False,
                        help="augment with the recording chains of the evaluation's input conditions too: a phone "
                             "line, hard clipping, a low-bitrate MP3 (default off)")
    parser.add_argument("--config", default=None, help="JSON of TrainConfig overrides (experiments)")
    parser.add_argument("--refit", action=argparse.BooleanOptionalAction, default=False,
                        help="final fit on training + validation speakers for the full schedule (models 1.4.0 "
                             "and 1.5.0); the default, --no-refit, trains on the training speakers and "
                             "early-stops on the validation ones")
    parser.add_argument("--cross-fit", action="store_true",
                        help="cross-fitted members: the validation speakers are dealt into one fold per member; "
                             "each member trains on the training speakers plus the other folds and early-stops "
                             "on its own fold")
    parser.add_argument("--cross-corpus", default=None, metavar="CORPUS",
                        help="also train the recipe without this corpus and score all of it, for the model card "
                             "(default: tess, where the data has it; 'none' to skip)")
    args = parser.parse_args(argv)
    if args.norm == "window" and (args.session_level or args.pitch == "session"):
        parser.error("session references (--session-level, --pitch session) need --norm global or channel")
    started = time.time()
    try:
        require_training_extra()
        writable_folder(Path(args.out), "model and model card")
        writable_folder(Path(args.cache), "feature cache")
        label_config = corpora.load_label_config(args.labels)
        data_dir = Path(args.data)
        params = base_params(args.pitch, args.floor_db, args.n_mfcc, args.session_level, args.dc_block)
        overrides = read_json(Path(args.config), "training config", 1 << 20, ConfigError) if args.config else {}
        cfg = config_with(overrides, epochs=args.epochs, seed=args.seed)
        cross = args.cross_corpus or "tess"  # asked for, it must be possible; the default, where there is TESS
        holdout = None if args.no_eval or cross == "none" else ("--cross-corpus", cross, bool(args.cross_corpus))
        data = prepare(data_dir, label_config, params, args.variants, args.seed, Path(args.cache), args.workers,
                       refit=args.refit, cross_fit=args.cross_fit, evaluate=not args.no_eval, holdout=holdout,
                       chain=args.chain_augment)
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    labels = label_config["labels"]
    t_features = time.time() - started
    tr = data[splits.TRAIN]
    params = feature_params(args.norm, tr["features"].x, args.seed, data["params"])

    from tools import export, fitting

    model, histories, validation = fitting.fit(
        data, tr["features"].x, tr["features"].clip_index, tr["labels"], np.array([c.corpus for c in tr["clips"]]),
        len(labels), cfg, params, speakers=np.array([c.speaker for c in tr["clips"]]))
    t_train = time.time() - started - t_features
    float_bytes = export.to_tflite(model)
    reps = normalize_window(export.representative_windows(tr["features"].x, seed=args.seed), params)
    int8_bytes = export.to_tflite(model, reps)

    metrics: dict = {}
    out = Path(args.out)
    if not args.no_eval:
        from tools import evaluate

        metrics = evaluate.evaluate_all(data, labels, float_bytes, int8_bytes, data_dir, params, out,
                                        cache_dir=Path(args.cache), workers=args.workers, seed=args.seed)
        if data["holdout"] is not None:  # checked in prepare: a corpus trained on, not the only one
            from tools import cross_corpus

            report = cross_corpus.train_without(data, cross, labels, cfg, args.norm, args.variants, args.seed)[3]
            if report is not None:
                metrics["cross_corpus"] = report
                metrics["summary"][f"cross_corpus_{cross}_ua"] = report["ua"]
    summary = evaluate_summary(metrics)
    base = dict(
        labels=labels, features=params, model_version=MODEL_VERSION,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        training_data=training_data(data),
        metrics=summary, licence=model_licence(splits.learnt_from(data["splits"], bool(data.get("cross_fit")))),
        description="CNN+LSTM over 3 s MFCC windows; see models/README.md",
    )
    from realtime_ser.model.metadata import ModelMetadata

    export.write_model(float_bytes, ModelMetadata(quantization="float32", **base), out / "ser_float32.tflite")
    export.write_model(int8_bytes, ModelMetadata(quantization="int8", **base), out / "ser_int8.tflite")
    total = time.time() - started
    run = {
        "seconds": {"features": round(t_features, 1), "train": round(t_train, 1), "total": round(total, 1)},
        "train_config": asdict(cfg), "variants": args.variants, "seed": args.seed, "norm": args.norm,
        "pitch": args.pitch, "session_level": args.session_level, "floor_db": args.floor_db, "n_mfcc": args.n_mfcc,
        "dc_block": args.dc_block, "chain_augment": args.chain_augment, "refit": args.refit, "cross_fit": args.cross_fit, "licence": base["licence"],
        "validation_speakers": data.get("validation_speakers"),
        "parameters": int(model.count_params()),
        **({"validation": validation} if validation else {}),
        "history": histories[0] if len(histories) == 1 else histories, "splits": data["splits"],
        "size_int8": (out / "ser_int8.tflite").stat().st_size,
        "size_float32": (out / "ser_float32.tflite").stat().st_size,
        "command": " ".join(["python -m tools.build_model", *(argv if argv is not None else sys.argv[1:])]),
    }
    metrics["run"] = run
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    if not args.no_eval:
        from tools import evaluate

        evaluate.write_model_card(metrics, labels, out)
    print(f"done in {total / 60:.1f} min; summary: {json.dumps(summary)}")
    return 0


def training_data(data: dict) -> list[str]:
    """Per corpus, the clips and speakers the shipped model learnt from (for its metadata)."""
    merged = splits.learnt_from(data["splits"], bool(data.get("cross_fit")))
    return [f"{c}: {v['clips']} clips, speakers {', '.join(v['speakers'])}" for c, v in merged.items()]


def evaluate_summary(metrics: dict) -> dict:
    """The few figures stored inside the model file."""
    keys = ("ravdess_test_ua", "emodb_test_ua", "pooled_test_ua", "ravdess_test_ua_snr10", "float32_pooled_test_ua")
    summary = metrics.get("summary", {})
    return {k: v for k, v in summary.items() if k in keys or k.startswith("cross_corpus_")}


if __name__ == "__main__":
    raise SystemExit(main())
