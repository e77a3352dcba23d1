"""Design experiments: in-corpus validation AND a cross-corpus check, from the feature cache.

    python -m tools.experiment --data ../shared/data --name defaults
    python -m tools.experiment --data ../shared/data --name cmn-eq1 --norm channel --config '{"cepstral_shift": 1.0}'

Validation speakers of RAVDESS and EMO-DB share their corpus's studio with the
training speakers, so a design can win there by leaning on that studio.  Users
have other microphones.  This command therefore also trains the same recipe
WITHOUT one whole corpus (``--holdout``, TESS by default: other speakers, another
recording set-up, single words) and scores every clip of it, which is what a
new speaker on a new microphone looks like to the model.  It also reports how
the predictions on that corpus spread over the classes (a model that collapses
onto one or two classes shows it here) and the six CREMA-D clips.

Test speakers are never touched.  One JSON line per run is appended to
``runs/experiments.jsonl``; figures are from the Keras (float) model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/experiment.py` finds `tools`

import numpy as np  # noqa: E402

from realtime_ser.console import positive_number  # noqa: E402
from realtime_ser.dsp.features import normalize_window, session_columns  # noqa: E402
from realtime_ser.errors import ConfigError, SerError  # noqa: E402
from tools import (  # noqa: E402
    argument_parser, corpora, count_arg, cross_corpus, dataset, require_training_extra, seed_arg, splits,
    writable_folder)
from tools.build_model import (  # noqa: E402
    FLOOR_DB, N_MFCC, NORMS, PITCH, PITCH_DEFAULT, base_params, check_holdout, floor_db_arg, n_mfcc_arg, prepare,
)
from tools.fitting import session_keys, speaker_references, val_sets  # noqa: E402
from tools.train import TrainConfig, config_with  # noqa: E402


def run(args) -> dict:
    label_config = corpora.load_label_config(args.labels)
    labels = label_config["labels"]
    try:
        overrides = json.loads(args.config or "{}")
    except ValueError as exc:
        raise ConfigError(f"--config {args.config!r}: not valid JSON ({exc})") from None
    cfg = config_with(overrides, epochs=args.epochs, seed=args.seed)
    require_training_extra()
    # The held-out corpus must be one trained on, and not the only one, or the run would train for
    # long and report no cross-corpus figure (or fail with nothing to train on).
    check_holdout(splits.make_splits(corpora.require_clips(args.data))[splits.TRAIN], args.holdout, "--holdout",
                  Path(args.data))
    base = base_params(args.pitch, args.floor_db, args.n_mfcc, args.session_level, args.dc_block)
    data = prepare(Path(args.data), label_config, base, args.variants, args.seed, Path(args.cache), args.workers,
                   refit=args.refit, cross_fit=args.cross_fit, evaluate=False,  # scored on the held-out corpus
                   chain=args.chain_augment)
    started = time.time()
    model, params, histories, report, scores = cross_corpus.train_without(
        data, args.holdout, labels, cfg, args.norm, args.variants, args.seed)
    result = {"name": args.name, "seed": args.seed, "norm": args.norm, "pitch": args.pitch,
              "session_level": args.session_level, "floor_db": args.floor_db, "dc_block": args.dc_block,
              "chain_augment": args.chain_augment,
              "n_mfcc": args.n_mfcc, "config": overrides, "refit": args.refit,
              "cross_fit": args.cross_fit, "epochs_run": [len(h) for h in histories]}
    if scores is not None:  # a refit trains on the validation speakers: nothing to score there
        bests = [max(history, key=lambda r: r["val_ua"]) for history in histories]
        # val_ua: the averaged model's; cross-fitted, out-of-fold (each clip by the member that did not
        # train on it). member_val_ua_mean: each member's best epoch on its own validation speakers.
        result.update(best_epoch=[b["epoch"] for b in bests],
                      val_ua={k[7:]: round(v, 4) for k, v in scores.items() if k.startswith("val_ua_")},
                      val_ua_mean=round(scores["val_ua"], 4))
        if len(bests) > 1:
            result["member_val_ua_mean"] = [round(b["val_ua"], 4) for b in bests]
    result["train_s"] = round(time.time() - started, 1)
    if report is not None:
        result["cross_corpus"] = {
            "corpus": args.holdout, "clips": report["n"], "ua": report["ua"],
            "recall": {k: v["recall"] for k, v in report["per_class"].items()},
            "predicted_share": report["predicted_share"],
        }
    if args.tta:
        result["tta"] = tta_scores(model, params, data, args.holdout, args.variants, labels, args.tta)
    if args.conditions and not data.get("refit") and not data.get("cross_fit"):
        result["conditions"] = condition_scores(model, params, data, Path(args.data), Path(args.cache), args.workers)
    if session_columns(params):  # the same networks without session references (a session's first seconds)
        result["cold_start"] = cold_start_scores(model, params, data, args.holdout, args.variants, labels)
    extra = data[splits.EXTRA]
    if extra["clips"]:
        fs = extra["features"]  # a sample file of no known speaker is its own session
        refs = speaker_references(fs.x, fs.clip_index, session_keys(extra["clips"]), params)
        probs = model.predict(normalize_window(fs.x.astype(np.float32), params, refs), verbose=0)
        pred = dataset.clip_mean(probs, extra["features"].clip_index, len(extra["clips"])).argmax(1)
        result["crema_d_samples"] = {"right": int(np.sum(pred == extra["labels"])), "of": len(pred),
                                     "predicted": [labels[p] for p in pred]}
    return result


def condition_scores(model, params, data: dict, data_dir: Path, cache_dir: Path, workers: int) -> dict:
    """The validation speakers through each of the evaluation's input conditions (tools/augment.py):
    per condition, the share of clips whose answer moved from the clean one, and UA per corpus and mean."""
    from tools.augment import INPUT_CONDITIONS
    from tools.train import unweighted_accuracy

    val = data[splits.VAL]
    corpus = np.array([c.corpus for c in val["clips"]])

    def answers(fs: dataset.FeatureSet) -> np.ndarray:
        refs = speaker_references(fs.x, fs.clip_index, session_keys(val["clips"]), params)
        probs = model.predict(normalize_window(fs.x.astype(np.float32), params, refs), batch_size=256, verbose=0)
        return dataset.clip_mean(probs, fs.clip_index, len(val["clips"])).argmax(1)

    clean = answers(val["features"])
    out = {}
    for name in INPUT_CONDITIONS:
        fs = dataset.eval_features(data_dir, val["clips"], params, cache_dir=cache_dir, workers=workers,
                                   desc=f"val features, {name}", condition=name)
        pred = answers(fs)
        ua = {c: round(unweighted_accuracy(val["labels"][corpus == c], pred[corpus == c]), 4) for c in sorted(set(corpus))}
        out[name] = {"changed": round(float(np.mean(pred != clean)), 4), "val_ua": ua,
                     "val_ua_mean": round(float(np.mean(list(ua.values()))), 4)}
    return out


def cold_start_scores(model, params, data: dict, holdout: str, variants: int, labels: list[str]) -> dict:
    """Validation and held-out-corpus UA of ``model`` with no speaker reference at all."""
    from tools.train import validation_ua

    out = {}
    sets = val_sets(data, params, references=False)
    if sets:
        scores = validation_ua(model, sets)
        out["val_ua"] = {k[7:]: round(v, 4) for k, v in scores.items() if k.startswith("val_ua_")}
        out["val_ua_mean"] = round(scores["val_ua"], 4)
    tr = data[splits.TRAIN]
    corpora_ = np.array([c.corpus for c in tr["clips"]])
    _, held_x, held = cross_corpus.split_out(tr["features"], corpora_, holdout, variants)
    if held.any():
        out["cross_corpus_ua"] = round(cross_corpus.score_windows(model, params, held_x, tr["labels"][held],
                                                                  labels)["ua"], 4)
    return out


def warped_probs(model, raw: np.ndarray, params, alphas: list[float]) -> np.ndarray:
    """Mean class probabilities of raw (un-normalised) windows over mel-axis warps ``alphas``."""
    from tools.train import mel_warp

    x = raw.astype(np.float32)
    return np.mean([model.predict(normalize_window(mel_warp(x, a, params.n_mels), params), batch_size=256, verbose=0)
                    for a in alphas], axis=0)


def tta_scores(model, params, data: dict, holdout: str, variants: int, labels: list[str], alphas: list[float]):
    """Validation and held-out-corpus UA with test-time warping (same networks as the plain figures)."""
    from tools.train import unweighted_accuracy

    out: dict = {"alphas": alphas, "val_ua": {}}
    val = data[splits.VAL]
    if not data.get("refit") and not data.get("cross_fit"):
        corpus = np.array([c.corpus for c in val["clips"]])
        probs = dataset.clip_mean(warped_probs(model, val["features"].x, params, alphas),
                                  val["features"].clip_index, len(val["clips"]))
        for name in sorted(set(corpus)):
            out["val_ua"][name] = round(unweighted_accuracy(val["labels"][corpus == name],
                                                            probs[corpus == name].argmax(1)), 4)
        out["val_ua_mean"] = round(float(np.mean(list(out["val_ua"].values()))), 4)
    tr = data[splits.TRAIN]
    corpora_ = np.array([c.corpus for c in tr["clips"]])
    _, held_x, held = cross_corpus.split_out(tr["features"], corpora_, holdout, variants)
    if held.any():
        pred = warped_probs(model, held_x, params, alphas).argmax(1)
        out["cross_corpus_ua"] = round(unweighted_accuracy(tr["labels"][held], pred), 4)
        out["cross_corpus_share"] = cross_corpus.spread(pred, labels)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("experiment", __doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data", help="folder of the corpora (default: ../shared/data)")
    parser.add_argument("--name", required=True, help="a name for the log")
    parser.add_argument("--labels", default=None, help="label-set JSON (default: tools/labels/default.json)")
    parser.add_argument("--cache", default=".cache/features", help="feature cache folder (default: .cache/features)")
    parser.add_argument("--variants", type=count_arg, default=10,
                        help="cached waveform variants per training clip (default: 10)")
    parser.add_argument("--epochs", type=count_arg, default=TrainConfig.epochs,
                        help=f"training epochs per network (default: {TrainConfig.epochs})")
    parser.add_argument("--seed", type=seed_arg, default=1,
                        help="augmentation seed (another value recomputes every cached feature); "
                             "for another training seed use --config '{\"seed\": 2}'")
    parser.add_argument("--workers", type=count_arg, default=2, help="feature extraction processes (default: 2)")
    parser.add_argument("--norm", choices=NORMS, default="global", help="feature normalisation (see build_model)")
    parser.add_argument("--pitch", choices=PITCH, default=PITCH_DEFAULT,
                        help="log-F0 and voicing columns after the MFCCs (see build_model)")
    parser.add_argument("--session-level", action="store_true",
                        help="loudness relative to the session's (see build_model)")
    parser.add_argument("--floor-db", type=floor_db_arg, default=FLOOR_DB, help="dynamic-range floor (see build_model)")
    parser.add_argument("--n-mfcc", type=n_mfcc_arg, default=N_MFCC, help="MFCCs per frame (see build_model)")
    parser.add_argument("--dc-block", action=argparse.BooleanOptionalAction, default=True,
                        help="remove each window's DC offset first (default; see build_model)")
    parser.add_argument("--chain-augment", action=argparse.BooleanOptionalAction, default=False,
                        help="augment with the input conditions' recording chains too (see build_model)")
    parser.add_argument("--config", default=None, help="JSON of TrainConfig overrides")
    parser.add_argument("--refit", action="store_true",
                        help="train on training + validation speakers for the full schedule, as `build_model --refit` "
                             "(models 1.4.0 and 1.5.0) does; only the held-out corpus is scored")
    parser.add_argument("--cross-fit", action="store_true",
                        help="cross-fitted members, as build_model --cross-fit (val_ua is then out-of-fold)")
    parser.add_argument("--tta", type=positive_number, nargs="+", default=None, metavar="ALPHA",
                        help="also score with test-time mel-axis warps (e.g. 0.926 1 1.08), probabilities averaged")
    parser.add_argument("--conditions", action="store_true",
                        help="also score the validation speakers through the evaluation's input conditions "
                             "(DC offset, clipping, phone band, MP3): answers moved and UA")
    parser.add_argument("--holdout", default="tess", help="corpus left out of training and scored whole")
    parser.add_argument("--log", default="runs/experiments.jsonl",
                        help="file the results are appended to (default: runs/experiments.jsonl)")
    args = parser.parse_args(argv)
    if args.norm == "window" and (args.session_level or args.pitch == "session"):
        parser.error("session references (--session-level, --pitch session) need --norm global or channel")
    log = Path(args.log)
    try:
        writable_folder(Path(args.cache), "feature cache")
        writable_folder(log.parent, "experiment log")
        if log.is_dir() or (log.exists() and not os.access(log, os.W_OK)):
            raise SerError(f"{log}: cannot append the experiment's result to it (a folder, or read-only)")
        result = run(args)
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))  # first: a log that fails now (a full disk) loses no result
    try:
        with log.open("a") as f:
            f.write(json.dumps(result) + "\n")
    except OSError as exc:
        print(f"error: {log}: the result above was not appended ({exc.strerror or exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
