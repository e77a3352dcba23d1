"""Held-out evaluation and the model card.

Scores the exported TFLite files exactly as the program uses them
(:class:`EmotionModel` on the overlapping windows of each VAD-trimmed clip,
mean of probabilities) on the TEST speakers: UA (macro recall), WA (accuracy),
per-class precision/recall/F1 and confusion matrices, per corpus and pooled;
int8 against float32; with noise at 20/10/5 dB SNR; the seed-style baseline
on the same split; and the six CREMA-D clips as an out-of-corpus check.

``python -m tools.evaluate [--out models]`` re-writes the model card from that
folder's ``metrics.json`` (after editing the card's template);
``tools.build_model`` calls :func:`evaluate_all` directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/evaluate.py` finds `tools`

import numpy as np  # noqa: E402

from realtime_ser.dsp.features import FeatureParams, normalize_window, session_columns  # noqa: E402
from realtime_ser.model.backend import LiteRTBackend  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.model.metadata import ModelMetadata  # noqa: E402
from tools import argument_parser, dataset, file_size, splits  # noqa: E402

SNRS = (20, 10, 5)
CORPORA = ("ravdess", "emodb")
#: What write_model_card reads from metrics.json.
CARD_KEYS = ("labels", "summary", "run", "test", "val")


def predict_clips(model_bytes: bytes, labels: list[str], params: FeatureParams, fs: dataset.FeatureSet,
                  clips: list, session: bool = True) -> np.ndarray:
    """Clip probabilities via EmotionModel.predict_features (same normalisation as live use).

    A model with session references gets each speaker's, from their windows here (what a
    session of theirs would learn; a speakerless sample file is its own session), or, with ``session``
    False, none (a session's first seconds).
    """
    from tools.fitting import session_keys, speaker_references

    model = EmotionModel(LiteRTBackend(model_bytes, "candidate"), ModelMetadata(labels=labels, features=params))
    if not len(fs.x):
        return dataset.clip_mean(np.zeros((0, len(labels))), fs.clip_index, len(clips))
    refs = speaker_references(fs.x, fs.clip_index, session_keys(clips), params, use=session)
    probs = np.stack([model.predict_features(normalize_window(w.astype(np.float32), params,
                                                              None if refs is None else refs[i]))
                      for i, w in enumerate(fs.x)])
    return dataset.clip_mean(probs, fs.clip_index, len(clips))


def scores(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict:
    """UA over the classes present, WA, per-class P/R/F1 and the confusion matrix."""
    n = len(labels)
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    present = [i for i in range(n) if cm[i].sum() > 0]
    per_class = {}
    for i in present:
        tp, support, predicted = cm[i, i], cm[i].sum(), cm[:, i].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[labels[i]] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                                "f1": round(float(f1), 4), "support": int(support)}
    return {
        "ua": round(float(np.mean([cm[i, i] / cm[i].sum() for i in present])), 4) if present else 0.0,
        "wa": round(float(np.trace(cm) / max(1, cm.sum())), 4),
        "n": int(cm.sum()),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def _by_corpus(clips) -> dict[str, np.ndarray]:
    corpus = np.array([c.corpus for c in clips])
    groups = {name: np.flatnonzero(corpus == name) for name in CORPORA if np.any(corpus == name)}
    groups["pooled"] = np.arange(len(clips))
    return groups


def confusion_png(cm: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(cm)
    rows = [i for i in range(len(labels)) if cm[i].sum() > 0]
    cm = cm[rows]
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(rows) + 1.8))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [labels[i] for i in rows])
    for r in range(len(rows)):
        for c in range(len(labels)):
            ax.text(c, r, f"{norm[r, c]:.2f}\n({cm[r, c]})", ha="center", va="center", fontsize=7,
                    color="white" if norm[r, c] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_all(data: dict, labels: list[str], float_bytes: bytes, int8_bytes: bytes, data_dir: Path,
                 params: FeatureParams, out: Path, cache_dir: Path, workers: int = 2, seed: int = 1) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    test, val, extra = data[splits.TEST], data[splits.VAL], data[splits.EXTRA]
    groups = _by_corpus(test["clips"])
    metrics: dict = {"labels": labels, "test": {}, "val": {}, "noise": {}, "baseline": {}, "summary": {}}

    def score_groups(probs, clips_labels, grouping):
        return {g: scores(clips_labels[idx], probs[idx].argmax(1), labels) for g, idx in grouping.items()}

    # After a refit the validation speakers are training speakers; cross-fitted, each is a training speaker
    # of one member, so the ensemble's figure on them is not held out (the build reports out-of-fold UA).
    held_out_validation = not data.get("refit") and not data.get("cross_fit")
    for name, model_bytes in (("int8", int8_bytes), ("float32", float_bytes)):
        probs = predict_clips(model_bytes, labels, params, test["features"], test["clips"])
        metrics["test"][name] = score_groups(probs, test["labels"], groups)
        if held_out_validation:
            vprobs = predict_clips(model_bytes, labels, params, val["features"], val["clips"])
            metrics["val"][name] = {g: {k: v for k, v in s.items() if k in ("ua", "wa", "n")}
                                    for g, s in score_groups(vprobs, val["labels"], _by_corpus(val["clips"])).items()}

    if session_columns(params):  # the shipped model with no session reference yet: a session's first seconds
        probs = predict_clips(int8_bytes, labels, params, test["features"], test["clips"], session=False)
        metrics["cold_start"] = {g: {k: v for k, v in s.items() if k in ("ua", "wa", "n")}
                                 for g, s in score_groups(probs, test["labels"], groups).items()}

    if held_out_validation:
        # Validation speakers through simulated microphones: how much the figures rest on the studio channel.
        vchan = dataset.eval_features(data_dir, val["clips"], params, seed=seed + 2000, cache_dir=cache_dir,
                                      workers=workers, desc="val features, random channel", channel=True)
        probs = predict_clips(int8_bytes, labels, params, vchan, val["clips"])
        metrics["val_channel"] = {g: {k: v for k, v in s.items() if k in ("ua", "wa", "n")}
                                  for g, s in score_groups(probs, val["labels"], _by_corpus(val["clips"])).items()}

    for snr in SNRS:
        noisy = dataset.eval_features(data_dir, test["clips"], params, snr_db=snr, seed=seed + 1000,
                                      babble=data["babble_eval"], cache_dir=cache_dir, workers=workers,
                                      desc=f"test features at {snr} dB SNR")
        probs = predict_clips(int8_bytes, labels, params, noisy, test["clips"])
        metrics["noise"][str(snr)] = {g: {k: v for k, v in s.items() if k != "confusion"}
                                      for g, s in score_groups(probs, test["labels"], groups).items()}

    if extra["clips"]:
        probs = predict_clips(int8_bytes, labels, params, extra["features"], extra["clips"])
        metrics["crema_d_samples"] = [
            {"clip": c.path, "true": labels[t], "predicted": labels[int(p.argmax())], "p": round(float(p.max()), 3)}
            for c, t, p in zip(extra["clips"], extra["labels"], probs)
        ]

    from tools import baseline

    tr = data[splits.TRAIN]
    bx = baseline.features(data_dir, tr["clips"], cache_dir, workers, desc="baseline train features")
    bmodel = baseline.train_baseline(bx, tr["labels"], seed)
    tx = baseline.features(data_dir, test["clips"], cache_dir, workers, desc="baseline test features")
    bpred = bmodel.predict(tx)
    metrics["baseline"] = {g: {k: v for k, v in scores(test["labels"][idx], bpred[idx], labels).items()
                               if k != "confusion"} for g, idx in groups.items()}

    for g in groups:
        cm = metrics["test"]["int8"][g]["confusion"]
        ua = metrics["test"]["int8"][g]["ua"]
        confusion_png(cm, labels, f"int8 model, held-out {g} speakers (UA {ua:.1%})", out / f"confusion_{g}.png")

    from tools.bench_model import bench

    metrics["benchmark"] = {"int8": bench(int8_bytes, params=params),
                            "float32": bench(float_bytes, params=params)}
    s = metrics["summary"]
    for g in groups:
        s[f"{g}_test_ua"] = metrics["test"]["int8"][g]["ua"]
        s[f"{g}_test_wa"] = metrics["test"]["int8"][g]["wa"]
        s[f"float32_{g}_test_ua"] = metrics["test"]["float32"][g]["ua"]
        s[f"baseline_{g}_test_ua"] = metrics["baseline"][g]["ua"]
        for snr in SNRS:
            s[f"{g}_test_ua_snr{snr}"] = metrics["noise"][str(snr)][g]["ua"]
    return metrics


# ---------------------------------------------------------------- model card

def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


#: The issue's size budget of the int8 file, 500 KB.
MODEL_BUDGET_BYTES = 500_000


def trained_speakers(run: dict, corpus: str) -> list[str]:
    """Speakers of ``corpus`` the shipped model learnt from (cross-fitted: the validation ones too)."""
    return splits.learnt_from(run["splits"], bool(run.get("cross_fit"))).get(corpus, {}).get("speakers", [])


def _session_words(run: dict) -> str:
    """What a build takes relative to the session's speaker ("" for none)."""
    return " and ".join(w for w, on in (("level (c0)", run.get("session_level")),
                                        ("log-F0", run.get("pitch") == "session")) if on)


#: The licence of a model trained on the bundled model's corpora (tools.build_model.model_licence).
BUNDLED_LICENCE = ("CC BY-NC-SA 4.0 (non-commercial): trained on RAVDESS (CC BY-NC-SA 4.0), "
                   "TESS (CC BY-NC-ND 4.0) and EMO-DB (free for research)")


def _licence_lines(run: dict) -> list[str]:
    """The card's licence paragraph: the bundled model's, or what a model trained on other data carries
    (whose card still describes the bundled model's recipe and its history)."""
    licence = run.get("licence", BUNDLED_LICENCE)
    if licence == BUNDLED_LICENCE:
        return [
            "**Licence: non-commercial.** Trained on RAVDESS (CC BY-NC-SA 4.0) and TESS (CC BY-NC-ND 4.0), whose",
            "non-commercial terms carry over to the model, and on EMO-DB (free for research). Use `ser_int8.tflite`",
            "for research and personal use only; retrain with `tools/` on data you may use commercially otherwise.",
        ]
    return [f"**Licence: {licence}.** The recipe's description and design log below are the bundled model's;",
            "the figures are this run's."]


def write_model_card(metrics: dict, labels: list[str], out: Path) -> Path:
    s, run = metrics["summary"], metrics["run"]
    groups = [g for g in ("ravdess", "emodb", "pooled") if f"{g}_test_ua" in s]
    names = {"ravdess": "RAVDESS (6 actors, 7 classes)", "emodb": "EMO-DB (4 speakers, its 6 classes)",
             "pooled": "pooled (RAVDESS + EMO-DB test)"}
    lines = [
        "# realtime-ser bundled model: CNN+LSTM speech-emotion classifier (int8 TFLite)",
        "",
        "Written by `python -m tools.build_model` (figures below are from that run; regenerate, do not edit).",
        "",
        *_licence_lines(run),
        "",
        "## What it is",
        f"- Labels: {', '.join(labels)} (RAVDESS calm -> neutral, TESS pleasant surprise -> surprised,",
        "  EMO-DB boredom left out; mapping in `tools/labels/default.json`).",
        f"- Input: one 3 s window of 16 kHz audio -> 297 frames x ({run.get('n_mfcc', 20)} MFCC + deltas + delta-deltas"
        + (", log-F0 and voicing" if run.get("pitch", "off") != "off" else "") + "), "
        + (f"from a log-mel spectrum floored {run['floor_db']:g} dB under the window's loudest frame (how quiet a "
           "recording's pauses are says nothing about emotion), " if run.get("floor_db") else "")
        + ("normalised with fixed training-set means/stds per feature, with the level (c0) normalised per window "
           "(gain-independent; keeps the utterance's spectral envelope, which per-window CMVN would erase)"
           if run.get("norm") == "global" else "per-window mean/variance normalisation (CMVN)")
        + (f"; the {_session_words(run)} taken relative to the session speaker's mean instead of the window's"
           " (session references: the running mean over the session's finished utterances, none for its first"
           " four windows)" if _session_words(run) else "")
        + ",",
        "  computed by `realtime_ser.dsp.features.window_features`, the same function the live pipeline uses;",
        "  its parameters (normalisation statistics included) are stored in the model file. Shorter utterances",
        "  are repeated to fill the window; longer ones are scored as overlapping windows (1.5 s hop) and the",
        "  probabilities averaged.",
        "- Network: 9 chunks of 33 frames -> time-distributed 1-D CNN (3 conv layers of "
        + "/".join(str(f) for f in run["train_config"]["conv_filters"]) + " filters, batch norm, ReLU, pooling;",
        f"  written as Conv2D with 1xk kernels) -> LSTM ({run['train_config']['lstm_units']} units, unrolled) ->"
        f" attention pooling -> softmax"
        + (f"; {run['train_config']['members']} such networks (training seeds {run['seed']}.."
           f"{run['seed'] + run['train_config']['members'] - 1}) trained independently, their probabilities averaged"
           if run["train_config"].get("members", 1) > 1 else "")
        + f"; {run.get('parameters', 0):,} parameters in all.",
        f"- Files: `ser_int8.tflite`, {file_size(run.get('size_int8', 0))}: full-integer post-training",
        f"  quantisation, the program's default; `ser_float32.tflite`, {file_size(run.get('size_float32', 0))},"
        " for comparison;",
        "  each with its SHA-256 in `<file>.sha256` (`sha256sum` format), which loading checks: a damaged",
        "  file is refused rather than giving wrong results.",
    ]
    if "benchmark" in metrics:
        b = metrics["benchmark"]["int8"]
        lines.append(f"- Speed (`python -m tools.bench_model`, one CPU thread, this 2-core machine): {b['ms_median']:.2f} ms"
                     f" per window (p95 {b['ms_p95']:.2f} ms) for the int8 model; the MFCC features of a window take"
                     f" {b['feature_ms_median']:.1f} ms (measured during the build, other jobs sharing the CPU).")
    lines += [
        "",
        "## Data and protocol (speaker-independent)",
        "Clips are trimmed of leading/trailing silence (energy-based, 0.25 s margins), as the live VAD cuts",
        "utterances. Speakers are split by a fixed rule chosen before any result was seen (`tools/splits.py`),",
        "balanced by gender, and asserted disjoint in code and tests:",
        "",
        "| split | corpus | clips | speakers |",
        "|---|---|---|---|",
    ]
    for split_name in ("train", "val", "test", "extra"):
        for corpus, v in run["splits"].get(split_name, {}).items():
            lines.append(f"| {split_name} | {corpus} | {v['clips']} | {', '.join(v['speakers'])} |")
    if run.get("refit"):
        held = run.get("validation_speakers") or {}
        protocol = [
            "Every design choice below was made with "
            + " and ".join(f"{c.upper() if c != 'emodb' else 'EMO-DB'} speakers {', '.join(v['speakers'])}"
                           for c, v in held.items())
            + " held out as VALIDATION speakers (early stopping, recipe selection). The recipe's best validation",
            "epoch was near the end of its fixed schedule (design log below), so the shipped model is then",
            "fitted once more on the training AND validation speakers, for that schedule (`--refit`):",
            "more speakers are what a speaker-independent model needs most. Test speakers are never used for",
            "training or choices, only once, for the figures below.",
        ]
    elif run.get("cross_fit"):
        protocol = [
            "VALIDATION speakers (the `val` rows) select the recipe. The shipped networks are cross-fitted",
            "(`--cross-fit`): the validation speakers are dealt into one fold per network by a fixed rule",
            "(per corpus, by gender, `tools.splits.validation_folds`); each network trains on the training",
            "speakers plus the other folds and early-stops on its own fold, so the ensemble learns from every",
            "non-test speaker while each network stops on voices it never heard. Its validation figure is",
            "out-of-fold: each validation clip scored by the network that did not train on it. Test speakers",
            "are never used for training or choices, only once, for the figures below.",
        ]
    else:
        protocol = [
            "VALIDATION speakers (the `val` rows) select the recipe and the epoch (early stopping); the shipped",
            "model trains on the training speakers only. Models 1.4.0 and 1.5.0 were fitted once more on the",
            "training and validation speakers (`--refit`); from 1.5.1 that is off, because it lost 3.8 points on",
            "the cross-corpus check (design log). Test speakers are never used for training or choices, only",
            "once, for the figures below.",
        ]
    lines += [
        "",
        "(clip counts include EMO-DB boredom, which is not used.) TESS has only two speakers, both needed for",
        "training, so TESS is scored only by the cross-corpus check below (a model trained without it). The six",
        "CREMA-D clips are never trained on.",
        *protocol,
        "",
        "Training: each epoch draws one of "
        f"{run['variants']} cached variants per training clip (variant 0 clean, the others augmented: speed",
        "perturbation 0.9-1.1, synthetic reverberation RT60 0.15-0.9 s, band-limiting / telephone band / random",
        "EQ, additive white/pink/brown noise or babble of other training speakers at 0-30 dB SNR, gain -30..+8 dB",
        "with clipping), random 3 s crops of long clips, a random cepstral offset (smooth EQ) per window,",
        "a random tempo warp of the feature frames (up to +-30%, half the windows), a random vocal-tract-length",
        "warp of the mel axis (up to +-12%, half the windows; other speakers), SpecAugment-style time and",
        "coefficient masks, class- and corpus-balanced sample weights, label smoothing 0.1, dropout, Adam with",
        "cosine decay; the shipped weights are an exponential moving average (0.998 per batch) of the trained ones.",
        f"Seed {run['seed']}.",
        "",
        "Design choices were made on validation speakers and on the cross-corpus check, never on test speakers.",
        "First on the VALIDATION speakers only (mean of RAVDESS and EMO-DB validation UA, best epoch; 10 variants",
        "per clip, seed 1): (A) per-window CMVN, 48/64/96-filter CNN + 64-unit LSTM, 60-epoch schedule: 49.7%;",
        "(B) as A with 64/128/128 filters + 96-unit LSTM, 80 epochs: 57.6%; (C) as A with global normalisation:",
        "63.8%; (D) B's network with C's normalisation: 66.0%; (E) D plus a random cepstral offset (random EQ):",
        "66.0%, and 61.7% (D: 58.9%) on the validation speakers through simulated microphones.",
        "",
        "The cross-corpus check (below; `python -m tools.experiment`, float models) then showed that E does not",
        "carry to a new recording set-up: 34.5% UA on TESS (26.0% with training seed 2, which also early-stopped at",
        "epoch 34 on its noisy validation curve), with 65% of all TESS clips called *disgust*. Validation UA / TESS",
        "UA of the variants, trained without TESS: per-window CMVN 57.6 / 35.7; global norm + per-window cepstral",
        "mean subtraction 58.0 / 29.2; a stronger random EQ 59.5 / 32.3; weight averaging (EMA) 59.9 / 42.1; EMA +",
        "tempo warp +-30% 58.7 / 51.8 and 61.6 / 42.8 (seeds 1, 2); the same with mixup 61.6 / 45.0, and with",
        "repeated short spans too 61.5 / 46.0; EMA + tempo warp +-50% 62.0 / 44.8; EMA + tempo warp with cepstral",
        "mean subtraction 54.1 / 42.3. Speaking rate was the cue that did not transfer (TESS reads slowly and",
        "carefully). (F) = E + EMA + tempo warp: TESS UA +17 points over E (mean of two seeds), validation UA",
        "unchanged (60.2% vs 59.3%). (G) = F + vocal-tract-length perturbation (mel axis warped by up to +-12%, as",
        "a linear map of the MFCCs): 64.5 / 44.3 and 64.3 / 49.4 (seeds 1, 2), i.e. validation +4.2 points over F,",
        "TESS unchanged (46.9% vs 47.3%).",
        "",
        "Then prosody and ensembles (model 1.3.0). Pitch columns (log-F0 and voicing per frame from an",
        "autocorrelation tracker, `--pitch`) added to G: absolute log-F0 63.4 / 45.5 and 65.2 / 41.5 (seeds 1, 2);",
        "log-F0 minus its per-window mean (contour and range, not the voice's level) 67.0 / 50.0 and 68.4 / 33.4.",
        "Averaging the two seeds' networks: G 66.5 / 48.1 (members 64.5 and 64.3 on validation), G + relative",
        "pitch 68.8 / 38.7. Pitch helps on the validation speakers (+2.3 points as ensembles) and costs 9.4",
        "points on the new corpus, where it deepens the slide towards *disgust* (59% of TESS predictions): it",
        "does not generalise here, so it stays an option, off by default. The average of two networks gains on",
        "both figures over its members (+2.1 validation, +1.2 TESS over the members' mean) and halves the",
        "seed lottery; two 96-unit members would pass the 500 KB budget, so the shipped recipe is G with an",
        "80-unit LSTM, two members (the defaults of the command).",
        "",
        "Then the final fit (model 1.4.0). Of the eight 80-epoch training runs of recipe G with validation",
        "speakers, seven found their best validation epoch at 72-80; the eighth (1.3.0's second network)",
        "early-stopped at epoch 51 on a noisy validation curve and shipped its epoch-36 weights. So the recipe",
        "is now fitted on the training AND validation speakers for its fixed schedule (`--refit`), shipping",
        "the averaged (EMA) weights of the last epoch. Cross-corpus check of that refit (two networks, trained",
        "without TESS): 42.6 / 42.8% TESS UA (training seeds 1-2 / 3-4), against 48.1 / 42.5% for the same",
        "ensembles early-stopped on the validation speakers: no gain on the new corpus, a loss within the",
        "seed spread. The refit was kept by a rule fixed before those runs (keep it unless it lost more than",
        "3 points of mean TESS UA), for what more speakers give a speaker-independent model: EMO-DB trains",
        "on 6 speakers instead of 4, RAVDESS on 18 actors instead of 14.",
        "",
        "Then the recording set-up (model 1.5.0). Pauses lie 71 dB under the loudest frame of a RAVDESS window",
        "on average, 56 dB in EMO-DB, 49 dB in TESS and 30 dB in the CREMA-D clips (5th percentile of frame",
        "energy, 40 clips each): how quiet the pauses are identifies the studio, and a laptop microphone's hiss",
        "sits 30-50 dB under speech. A soft floor 40 dB under the window's loudest frame (`--floor-db`, a",
        "value set before any run, not tuned) takes that cue away. Two-network ensembles, validation UA /",
        "TESS UA, trained without TESS, early-stopped: training seeds 1-2 65.9 / 51.6 (no floor: 66.5 / 48.1),",
        "seeds 3-4 69.8 / 46.8 (no floor: 64.2 / 42.5), so +2.5 points on the validation speakers and +3.9 on",
        "the new corpus (means), with *disgust* down from 48-56% to 28-41% of TESS predictions and TESS *sad*",
        "recall up from 8-10% to 37-57%. Also tried on one network (seed 1) and dropped: subtracting each",
        "speaker's mean feature vector (a running session mean live) cost 6 points on the validation speakers",
        "and left *disgust* at a third of TESS predictions; correcting the class prior with a session's running",
        "mean prediction gained 2-4 points on TESS, too little for the order-dependence it brings.",
        "",
        "Tried after 1.5.0 and not adopted. Two-network ensembles trained without TESS, early-stopped,",
        "validation UA / TESS UA for training seeds 1-2, 3-4 and 5-6; the 1.5.0 recipe: 65.9 / 51.6,",
        "69.8 / 46.8, 69.6 / 50.9 (means 68.4 / 49.8). A floor 30 dB under the loudest frame instead of 40:",
        "67.8 / 48.0, 66.2 / 47.9 (seeds 1-4), no gain. Corpora weighted equally (`corpus_balance` 1.0",
        "instead of 0.5): 63.5 / 53.0, 63.2 / 48.6, 4.5 points lower on the validation speakers, EMO-DB's",
        "too. 30 MFCCs per frame instead of 20 (`--n-mfcc 30`): 65.4 / 54.8, 64.2 / 59.3, 68.7 / 51.0",
        "(means 66.1 / 55.0): 5.2 points more on TESS, where its *neutral* and *happy* recall rose from 4-10%",
        "and 6-20% to 27-39% and 20-36%, but 2.3 points less on the validation speakers (EMO-DB 71.0%",
        "against 73.0%). A rule fixed after the first pair (adopt it if TESS gains at least 2 points and",
        "validation loses at most 1, means over the pairs) rejected it; it is the lead for a next model.",
        "With 6 instead of 4 cepstra per frequency mask, to regularise the wider input: 61.7 / 57.2 (seeds",
        "1-2), lower still on the validation speakers; not pursued. Most runs found their best validation",
        "epoch at 75-80 of 80, so 120 epochs: 68.4 / 47.8 and 68.6 / 43.9 (seeds 1-4): +0.7 on the validation",
        "speakers (EMO-DB -0.7), -3.4 on TESS, against the same seeds at 80 epochs. Training longer fits",
        "the studios, not new voices.",
        "",
        "Two more, each with its rule written down before its first run. Relative pitch (`--pitch relative`)",
        "again, now with the floor: 71.6 / 48.7 and 68.9 / 48.4 (seeds 1-4; means 70.2 / 48.6), against",
        "67.8 / 49.2 for the 1.5.0 recipe on the same seeds: +2.4 points on the validation speakers (EMO-DB",
        "74.3% against 72.7%), -0.7 on TESS, 2 of the 6 CREMA-D clips right in both runs (0-1 before); the",
        "9-point loss on TESS that pitch cost without the floor is gone. The rule (validation at least 69.9,",
        "TESS at least 48.8, i.e. +1.5 / -1 against the three-pair means above) rejected it by 0.2 points of",
        "TESS: the lead for EMO-DB. Mixed views (`member_cepstra` [20, 30]: of a 30-MFCC input one network",
        "reads the first 20 cepstra, which are exactly the 20-MFCC features, the other all 30), to keep",
        "30 MFCCs' gain on TESS without its loss on validation: 68.2 / 54.1, 65.0 / 58.7, 66.7 / 54.4 (means",
        "66.6 / 55.7, EMO-DB 71.1%), i.e. what two 30-MFCC networks give; the rule (validation at least",
        "67.9, TESS at least 51.8, EMO-DB validation at least 72.0) rejected it. Then the two leads together",
        "(relative pitch and 30 MFCCs, `--pitch relative --n-mfcc 30`), under the same rule, written down",
        "before its first run: 69.3 / 47.8, 66.1 / 49.2, 66.4 / 53.5 (means 67.3 / 50.2, EMO-DB 69.9%),",
        "rejected on all three counts: with pitch, the wider input kept neither its gain on TESS nor",
        "pitch's on the validation speakers (*disgust* still took 25-36% of TESS predictions). And",
        "corpus-adversarial training (`adversarial` 0.5, a strength set before any run: a head guessing",
        "each window's corpus through a reversed gradient, as in domain-adversarial training), same rule:",
        "64.9 / 51.6, 66.7 / 51.2, 62.2 / 51.5 (means 64.6 / 51.5, EMO-DB 68.5%), rejected: TESS steadier",
        "over the seeds and 1.7 points up, but 3.8 points lost on the validation speakers (4.5 on EMO-DB);",
        "likely because, with two training corpora, one English and one German, what tells them apart is",
        "partly what carries the emotion (a guess; not tested).",
        "",
        "Then relative pitch once more, as a 1.6.0 candidate, NOT shipped. Every candidate after it was judged",
        "on three seed pairs, relative pitch on two; its third pair (seeds 5-6) ran under a rule written down",
        "before that run (the original thresholds, plus EMO-DB validation at least 73.0): 70.6 / 49.3 (EMO-DB",
        "74.3%). Means over the three pairs: 70.4 / 48.8, EMO-DB 74.3%, against 68.4 / 49.8 and 73.0% for the",
        "1.5.0 recipe: +1.9 points on the validation speakers, -1.0 on TESS, exactly the rule's limit, so the",
        "candidate was built. That build's own cross-corpus check (refitted on training and validation",
        "speakers, as 1.5.0 was; seeds 1-2) gave 39.2% TESS UA against 46.2% for the 1.5.0 build, with *disgust*",
        "at 42% of TESS predictions. A second rule, written down before its runs (the 1.4.0 refit rule's",
        "3 points), repeated the refitted check with seeds 3-4: relative pitch 39.2%, pitch off 44.2%; means",
        "39.2% against 45.2%, 6.0 points apart, so relative pitch was reverted (off, as in 1.5.0). The",
        "early-stopped runs did not show this loss; the refit, trained for the full schedule on more speakers",
        "of the same studios, did. For the record, seen after the build and not used for the choice: the",
        "candidate scored 68.8% / 75.2% / 71.8% UA on the RAVDESS / EMO-DB / pooled test speakers (1.5.0:",
        "62.9 / 69.7 / 65.4), but its EMO-DB UA at 10 dB SNR fell 10.9 points under clean (1.5.0: 0.6), its",
        "features took 5.4 ms per window against 3.2 ms, and 5 of the 6 CREMA-D clips came out *fearful*, the",
        "four wrong ones at p 0.76-0.81 (1.5.0: four, at 0.48-0.74): gains on the training studios' speakers",
        "that a new recording set-up does not keep.",
        "Dropout 0.5 instead of 0.35 (a value set before any run), against that fit to the training studios,",
        "under the rule of the last three candidates: 67.6 / 51.5, 63.4 / 49.0, 65.8 / 50.5 (means 65.6 /",
        "50.3, EMO-DB 69.7%), rejected on all three counts.",
        "",
        "Then the final fit again (model 1.5.1). The refit was kept in 1.4.0 by a rule: keep it unless it",
        "loses more than 3 points of mean TESS UA against early-stopped training. The relative-pitch checks",
        "above had produced refitted runs of the 1.5.0 recipe, so the same rule was applied to it, over three",
        "seed pairs (the third run under a note written before it): early-stopped 51.6 / 46.8 / 50.9 (mean",
        "49.8), refitted 46.2 / 44.2 / 47.6 (mean 46.0), 3.8 points lower. So from 1.5.1 the shipped model",
        "trains on the training speakers and early-stops on the validation ones (`--refit` is off by",
        "default): four EMO-DB and fourteen RAVDESS training speakers instead of six and eighteen, and a",
        "recipe that carries better to a new recording set-up.",
        "To win back the speakers that costs without the refit's loss, cross-fitted networks (`--cross-fit`):",
        "the validation speakers dealt into two folds by a rule (per corpus, by gender: EMO-DB 13 | 11,",
        "RAVDESS 15, 16 | 17, 18); each network trains on the training speakers plus one fold and early-stops",
        "on the other, so the pair learns from every non-test speaker. Under a rule written down before its",
        "runs (TESS UA at least 48.8 and out-of-fold validation UA, each clip scored by the network that did",
        "not train on it, at least the 66.9% of single networks of the 1.5.1 recipe, means over three seed",
        "pairs): TESS 53.3 / 47.0 / 44.8 (mean 48.3), out-of-fold validation 67.4 / 68.8 / 66.9 (mean 67.7,",
        "EMO-DB 74.0%): rejected on TESS, by 0.5 points. More speakers of the same studios again did not carry",
        "to the new one; the option stays, off.",
        "30 MFCCs once more, as a confirmation on new evidence: it had the largest and steadiest TESS gain of",
        "any candidate and was rejected for 2.3 points of validation UA, and the product is judged on new",
        "voices, but changing the rule after seeing those figures would fit the rule to them. So a rule",
        "written down before the runs put it to training seeds 7-8, never run for either recipe (adopt if",
        "TESS gains at least 2 points and validation loses at most 3): 20 MFCCs 66.8 / 48.9, 30 MFCCs",
        "65.1 / 45.5. TESS -3.4: it stays rejected, and its earlier gain on TESS was partly seed luck.",
        "Three smaller networks instead of two (48/96/96 filters, 64-unit LSTM: 302K parameters in all against",
        "328K, sized by the 500 KB budget), as averaging two had steadied both figures. Rule written before its",
        "runs: TESS at least 50.6 and validation at least 67.5, means of two runs, against 49.6 / 68.0 for",
        "the 1.5.1 recipe over seed pairs 1-2 to 7-8. Seeds 1-3: 65.5 / 51.9, seeds 5-7: 66.1 / 51.9 (EMO-DB",
        "70.2 / 72.3%): TESS +2.3, validation -2.2, rejected. Like 30 MFCCs and the corpus-adversarial head,",
        "it buys the new corpus with the studios' speakers; none of them clears both bars.",
        "Test-time warping (`tools.experiment --tta`): each window also scored with its mel axis warped by",
        "1/1.08 and 1.08 (the augmentation's own map) and the three probabilities averaged. The same networks",
        "are scored both ways, so the comparison is paired, free of the seed lottery. Rule written before its",
        "runs: a lead if TESS gains at least 1 point and validation loses at most 0.3, means over three seed",
        "pairs. Validation +2.0 / -0.3 / -2.0, TESS +0.5 / -0.5 / +0.7 (means -0.1 and +0.2): no lead, not built.",
        "Two more under the rule of the corpus-adversarial, dropout and mixed-views candidates (validation at",
        "least 67.9, TESS at least 51.8, EMO-DB validation at least 72.0, means over seed pairs 1-2, 3-4, 5-6;",
        "reference 68.4 / 49.8 / 73.0), each written down before its runs. A speaker-adversarial head",
        "(`adversarial` 0.5, `adversary` \"speaker\": the corpus head's gradient reversal, guessing the training",
        "speaker instead, since every speaker says every emotion and a speaker carries none to lose): 63.2 /",
        "50.0, 64.1 / 50.4, 63.2 / 48.8 (means 63.5 / 49.7, EMO-DB 70.7%), rejected on all three counts; its head",
        "stayed at chance level (loss 2.82-2.86; 18 equal speakers give ln 18 = 2.89), so the reversed gradient",
        "was noise to the emotion network. A 50-epoch schedule instead of 80 (set before its runs: if training",
        "longer fits the studios, shorter might keep what transfers): 59.6 / 54.0, 61.8 / 50.6, 64.6 / 54.0",
        "(means 62.0 / 52.9, EMO-DB 66.1%), every network at its best in epochs 48-50: TESS +3.1 for 6.4",
        "points of validation UA, rejected. Every network had peaked at epochs 48-50, and the weight average",
        "(0.998 per batch, about 30 epochs) then reaches back into the high learning rates, so a second look",
        "under the same rule scaled its horizon to the schedule (0.998^(80/50) = 0.9968): 61.9 / 53.1, 63.0 /",
        "50.0, 64.5 / 51.7 (means 63.1 / 51.6, EMO-DB 67.9%), rejected on all three counts; the lag explains",
        "little of the loss. The same trade as every regulariser before it. And more data rather than less",
        "fitting: 20 cached augmented variants per training clip instead of 10 (`--variants 20`, same rule):",
        "65.6 / 51.7, 66.8 / 48.2, 67.6 / 51.8 (means 66.6 / 50.5, EMO-DB 71.8%), rejected on all three counts.",
        "Style mixing (`style_mix_p` 0.4, `style_mix_alpha` 0.3: with that probability a window's per-feature",
        "means and stds over time are mixed with those of a random training window of the same emotion, MixStyle",
        "as used for unseen recording devices; values from that work, same rule): 65.5 / 49.8, 67.2 / 46.8,",
        "66.3 / 53.3 (means 66.3 / 49.9, EMO-DB 70.5%), rejected on all three counts.",
        "Then a new direction, session references. The recipe removes each window's own loudness (c0), and",
        "relative pitch its own mean log-F0; that also removes what an emotion adds to a speaker's usual level,",
        "while absolute levels read a high voice or a loud microphone as arousal. Taken relative to the",
        "SPEAKER's mean level instead (from unlabelled windows: a training speaker's clips, a validation, TESS",
        "or test speaker's own windows, live the session so far; 30% of training windows get none, as at a",
        "session's start), the difference stays. Speaker-referenced pitch alone (`--pitch session`, same rule,",
        "written down before its runs): 73.4 / 48.3, 72.5 / 46.6, 69.0 / 51.7 (means 71.6 / 48.9, EMO-DB",
        "75.4%; the same networks without references 67.6 / 45.0): validation +3.2, TESS -0.9, rejected on TESS.",
        "Then loudness and pitch both (`--pitch session --session-level`), and in training each augmented",
        "variant's reference moved by the variant's own change against its clean clip (gain, pitch shift,",
        "channel: as if the speaker had been recorded so all session; until then augmentation taught the",
        "model that a level change is noise). Rule written before its runs, same bars: 71.2 / 53.0, 68.7 /",
        "55.3, 69.4 / 57.1 (means 69.7 / 55.1, the best TESS figure of any recipe; without references",
        "67.4 / 49.6), but EMO-DB validation 71.1% against the bar of 72.0: rejected. Last, the minimal",
        "change of the shipped recipe, the loudness reference alone (`--session-level`, pitch off; rule",
        "written before its runs, noting that a third variant's pass would be weaker evidence): 69.3 / 49.1,",
        "65.8 / 55.2, 66.2 / 55.5 (means 67.1 / 53.3, EMO-DB 70.1%), rejected on validation and EMO-DB. The",
        "references lift TESS by 3.5-5.3 points where they include the loudness, and the validation speakers",
        "by 1.3-3.2 where they include the pitch; no variant cleared all three bars, so the shipped model",
        "stays 1.5.1 and the options stay off.",
        "Loudness and pitch, the variant that missed only its EMO-DB bar, was then confirmed rather than",
        "re-judged: a rule written before the runs added two new seed pairs (7-8, 9-10) for it and for the",
        "1.5.1 recipe and judged all five pairs pooled, with the same margins against the recipe's own",
        "five-pair means (validation at most 0.5 below, TESS at least 2.0 above, EMO-DB validation at most",
        "1.0 below). New pairs: 65.8 / 57.6 and 69.0 / 53.8 (EMO-DB 65.5%, 70.1%); the recipe 66.8 / 48.9",
        "(the earlier run, reproduced) and 67.6 / 49.1 (EMO-DB 72.2%, 71.1%). Five-pair means 68.8 / 55.4,",
        "EMO-DB 69.8%, against 67.9 / 49.5, EMO-DB 72.4%: TESS ahead on every pair, but the two EMO-DB",
        "validation speakers 2.6 points down, so it stays rejected and this family is closed.",
        "Chunk order (`chunk_shuffle_p` 0.5, set before its runs): RAVDESS actors all say the same two",
        "sentences, so where in a window things happen can name an emotion there and nowhere else; half",
        "the windows reached the LSTM with their 9 chunks in random order (each chunk intact). Same rule",
        "as the candidates above: 64.7 / 53.9, 63.5 / 50.5, 65.1 / 57.1 (means 64.4 / 53.8, EMO-DB 67.1%),",
        "rejected on validation and EMO-DB: TESS +4.0 for 4.0 points of validation UA, the trade once more.",
        "More simulated speakers (`vtlp_p` 0.8 instead of 0.5, the warp range unchanged; VTLP was the one",
        "augmentation that had raised validation UA without costing TESS), same rule: 67.2 / 45.3,",
        "67.1 / 46.5, 64.0 / 51.0 (means 66.1 / 47.6, EMO-DB 72.0%), rejected on all three counts.",
        "Smaller batches (`batch_size` 32 instead of 64, twice the updates: gradient noise is said to settle",
        "in flatter minima that carry better to new data), same rule: 69.5 / 47.0, 67.2 / 43.5, 71.9 / 48.0",
        "(means 69.5 / 46.2, EMO-DB 75.1%), rejected on TESS: the best EMO-DB validation figure of any",
        "candidate (+2.1) for 3.6 points on the new corpus, the trade run the other way.",
        "Then the two misses together: session-referenced loudness and pitch (+5.3 TESS, -1.9 EMO-DB",
        "validation) with batch size 32 (+2.1 EMO-DB validation, -3.6 TESS), a combination chosen BECAUSE of",
        "those results, under the same rule written down before its runs: 75.1 / 47.4, 70.6 / 53.3,",
        "68.9 / 53.8 (means 71.5 / 51.5, EMO-DB 74.1%), rejected on TESS by 0.3 points, the first candidate",
        "above the reference on all three. A confirmation rule, written before its runs as for the",
        "session-reference candidate above (two new seed pairs, five-pair means against the recipe's 67.9 /",
        "49.5 / 72.4: validation at most 0.5 below, TESS at least 2.0 above, EMO-DB validation at most 1.0",
        "below): 68.4 / 50.3 and 73.9 / 51.9 (EMO-DB 69.6%, 77.3%), five-pair means 71.4 / 51.3, EMO-DB",
        "73.9%: validation +3.5, EMO-DB +1.5, TESS +1.8, short of its 2.0 by 0.2, so it stays rejected and",
        "the family stays closed. Live, it would also start each session worse: without a reference yet",
        "(a session's first seconds) the same networks scored 68.7 / 45.0, TESS 4.5 points under the",
        "shipped recipe.",
        "Last, whether the ensemble's size is the limit, as a larger ensemble could teach the two shipped",
        "networks (distillation): six networks of the shipped recipe (training seeds 1-6) averaged as one",
        "scored 68.6 / 50.6, EMO-DB 72.5% (its members 66.7% on the validation speakers, on average),",
        "against 68.4 / 49.8, EMO-DB 73.0% for the three pairs they make: the gain of averaging is spent at",
        "two networks, so a larger teacher would have nothing to pass on, and distillation was not tried.",
        *([f"This build: {metrics['cross_corpus']['corpus'].upper()} UA {_pct(metrics['cross_corpus']['ua'])}"
           " (below)."] if metrics.get("cross_corpus") else []),
        *([f"This build's validation UA ({'out-of-fold' if run.get('cross_fit') else 'early-stopping speakers'}):"
           f" {_pct(run['validation']['val_ua'])}."] if run.get("validation") else []),
        "",
        "## Results on held-out test speakers (int8 model, as shipped)",
        "",
        "UA = unweighted accuracy (mean per-class recall), WA = accuracy. Chance UA is 14.3% (7 classes),",
        "16.7% (6 classes).",
        "",
        "| test set | UA | WA | float32 UA | baseline UA | UA at 20 / 10 / 5 dB SNR |",
        "|---|---|---|---|---|---|",
    ]
    for g in groups:
        lines.append(
            f"| {names[g]} | **{_pct(s[f'{g}_test_ua'])}** | {_pct(s[f'{g}_test_wa'])} | {_pct(s[f'float32_{g}_test_ua'])}"
            f" | {_pct(s[f'baseline_{g}_test_ua'])} | "
            + " / ".join(_pct(s[f"{g}_test_ua_snr{snr}"]) for snr in SNRS) + " |")
    if metrics.get("cold_start"):
        cold = metrics["cold_start"]
        lines += [
            "",
            f"This model reads the {_session_words(run)} relative to the session's speaker (session references): the",
            "figures above give each test speaker the reference of their own test windows, as a session of",
            "theirs learns it after a few utterances (and with noise, of the noisy windows). With no reference",
            "yet (a session's first utterances) the same model scores "
            + ", ".join(f"{names[g]} {_pct(cold[g]['ua'])}" for g in groups if g in cold) + " UA.",
        ]
    lines += [
        "",
        "Against the targets of the issue (held-out speakers):",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    def target(name, value, ok):
        lines.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")
    if "ravdess_test_ua" in s:
        target("RAVDESS UA >= 60%", _pct(s["ravdess_test_ua"]), s["ravdess_test_ua"] >= 0.60)
    if "emodb_test_ua" in s:
        target("EMO-DB UA (6 classes) >= 75%", _pct(s["emodb_test_ua"]), s["emodb_test_ua"] >= 0.75)
    for g in groups:
        gap = s[f"float32_{g}_test_ua"] - s[f"{g}_test_ua"]
        target(f"int8 within 1.5 pts of float32 ({g})", f"{100 * gap:+.1f} pts (float32 - int8)", gap <= 0.015)
        drop = s[f"{g}_test_ua"] - s[f"{g}_test_ua_snr10"]
        target(f"UA at 10 dB SNR <= 10 pts under clean ({g})", f"{100 * drop:.1f} pts lower", drop <= 0.10)
    if "size_int8" in metrics.get("run", {}):  # the shipped file, as "Files" gives it (the benchmark's copy
        size = metrics["run"]["size_int8"]  # may be one measured before its metadata was written)
        target(f"int8 file <= 500 KB ({MODEL_BUDGET_BYTES:,} bytes)", file_size(size),
               size <= MODEL_BUDGET_BYTES)
    if "benchmark" in metrics:
        b = metrics["benchmark"]["int8"]
        target("one window <= 2 ms on one core", f"{b['ms_median']:.2f} ms (+ {b['feature_ms_median']:.1f} ms features)",
               b["ms_median"] <= 2.0)
    lines += [
        "",
        "Baseline: the seed projects' approach (clip-mean ZCR, chroma, MFCC, RMS, mel = 162 values, MLP",
        "256-256-64, `tools/baseline.py`), trained on the same training speakers (whole clips).",
        "Noise: pink, white or babble (training speakers, never the test speaker) added to the test clips at the",
        "given SNR, same clips.",
        "",
        "### Per-class recall (int8, held-out speakers) - watch for collapse onto a few classes",
        "",
        "| class | " + " | ".join(names[g].split(" (")[0] for g in groups) + " |",
        "|---|" + "---|" * len(groups),
    ]
    for label in labels:
        cells = []
        for g in groups:
            pc = metrics["test"]["int8"][g]["per_class"].get(label)
            cells.append(f"{_pct(pc['recall'])} (P {_pct(pc['precision'])}, n={pc['support']})" if pc else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Confusion matrices (rows = true class, normalised):", ""]
    for g in groups:
        lines.append(f"![{g}](confusion_{g}.png)")
    cc = metrics.get("cross_corpus")
    if cc:
        lines += [
            "",
            f"### A new recording set-up: cross-corpus check ({cc['corpus'].upper()} held out, UA {_pct(cc['ua'])})",
            f"The same recipe (configuration and seed) trained WITHOUT {cc['corpus'].upper()}, on the other corpora's",
            f"{'training and validation' if run.get('refit') or run.get('cross_fit') else 'training'} speakers"
            f" only, and scored on all"
            f" {cc['n']:,} {cc['corpus'].upper()} clips: other speakers, another",
            "studio and microphone, another reading style. This is the closest the data here comes to a new user's",
            "voice and microphone, and where a collapse onto one or two classes shows (large shares below).",
            f"UA {_pct(cc['ua'])}, WA {_pct(cc['wa'])} (float model; chance 14.3%). Between training seeds this figure",
            "moves by several points (see the design log above); compare recipes over seeds, not single runs.",
            "",
            "| class | recall | share of predictions |",
            "|---|---|---|",
        ]
        for label in labels:
            pc = cc["per_class"].get(label)
            lines.append(f"| {label} | {_pct(pc['recall']) if pc else '-'} | {_pct(cc['predicted_share'][label])} |")
    if metrics.get("crema_d_samples"):
        hits = sum(r["true"] == r["predicted"] for r in metrics["crema_d_samples"])
        lines += [
            "",
            f"### Out-of-corpus sanity check: the six CREMA-D clips ({hits} of 6 right)",
            "Six clips, one per emotion, from a corpus and speakers never seen in training: far too few to measure",
            "anything, shown only so a gross failure on other recordings would be visible.",
            "",
            "| clip | true | predicted (p) |",
            "|---|---|---|",
        ]
        for r in metrics["crema_d_samples"]:
            lines.append(f"| {Path(r['clip']).name} | {r['true']} | {r['predicted']} ({r['p']:.2f}) |")
    vi = metrics["val"].get("int8")
    if vi:
        lines += [
            "",
            "Validation speakers (used for early stopping, so optimistic): "
            + ", ".join(f"{g} UA {_pct(v['ua'])}" for g, v in vi.items()) + ".",
        ]
    if "val_channel" in metrics:
        lines += [
            "The same validation speakers through a simulated other microphone (random telephone band,",
            "laptop-mic band-limit or EQ resonances; a seed not used in training): "
            + ", ".join(f"{g} UA {_pct(v['ua'])}" for g, v in metrics["val_channel"].items()) + ".",
        ]
    english = len(trained_speakers(run, "ravdess")) + len(trained_speakers(run, "tess"))
    german = len(trained_speakers(run, "emodb"))
    lines += [
        "",
        "## Intended use and limits",
        "- Intended: live, offline indication of the emotion an utterance *sounds* like, for demos, research and",
        "  self-observation. Not for decisions about people (hiring, health, security, policing).",
        f"- Trained on ACTED emotions from {english} English-speaking actors (RAVDESS, TESS) and {german} German ones"
        " (EMO-DB),",
        "  read in studios. Spontaneous speech is subtler; expect lower accuracy than above, more so on other",
        "  languages, children's voices, far microphones and strong noise. The cross-corpus check above is the",
        *_new_voice_estimate(metrics.get("cross_corpus")),
        "- Classes are confusable in principle (happy/surprised, fearful/sad, neutral/calm); per-window",
        "  normalisation removes overall loudness, so the model relies on spectral shape and its dynamics"
        + (" and on pitch movement relative to the window's own mean pitch (not the voice's pitch level)."
           if run.get("pitch") == "relative" else "."),
        "- Windows shorter than 3 s are filled by repetition; very short utterances (< 0.5 s) carry little evidence.",
        "",
        "## Reproduce",
        "```",
        "pip install -e '.[train]'",
        "python -m tools.build_model --data ../shared/data      # index, features, train, export, evaluate, this card",
        "python -m tools.bench_model models/ser_int8.tflite    # speed and size",
        "```",
        f"Measured wall time of the full command on this 2-core machine (shared with other jobs): "
        f"{run['seconds']['total'] / 60:.1f} min ({run['seconds']['features'] / 60:.1f} min features,"
        " about 10 min more with an empty cache;"
        f" {run['seconds']['train'] / 60:.1f} min training the shipped networks; the rest is evaluation and the"
        " cross-corpus run).",
        "Manifests of the corpora are written to `.cache/manifests/`; `python -m tools.corpora DATA` does that alone.",
        "",
        "## Citations",
        "- Livingstone & Russo (2018), RAVDESS, PLoS ONE 13(5): e0196391.",
        "- Dupuis & Pichora-Fuller (2010), Toronto emotional speech set (TESS), University of Toronto.",
        "- Burkhardt et al. (2005), A database of German emotional speech, Interspeech.",
        "- Cao et al. (2014), CREMA-D, IEEE Trans. Affective Computing 5(4) (six clips, ODbL).",
        "",
    ]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _new_voice_estimate(cc: dict | None) -> list[str]:
    """Model-card lines: what the cross-corpus check says to expect on a new voice and microphone."""
    if not cc:
        return ["  best estimate here for a new voice and microphone (not run for this build)."]
    shares = sorted(cc["predicted_share"].items(), key=lambda kv: -kv[1])
    rare = [label for label, share in shares if share < 0.05]
    return [
        f"  best estimate here for a new voice and microphone: {_pct(cc['ua'])} UA on {cc['corpus'].upper()}"
        " (seed-to-seed differences there are several points),",
        f"  with a pull towards {', '.join(label for label, _ in shares[:3])} ({_pct(shares[0][1])} of predictions are"
        f" {shares[0][0]})" + (f"; {', '.join(rare)} rarely predicted there." if rare else "."),
    ]


def main(argv: list[str] | None = None) -> int:
    """Re-write the model card from models/metrics.json (after editing the card template)."""
    
    parser = argument_parser("evaluate", "Re-write the model card from metrics.json.")
    parser.add_argument("--out", default="models", help="folder of metrics.json and the card (default: models)")
    args = parser.parse_args(argv)
    from realtime_ser.errors import ConfigError, SerError
    from realtime_ser.jsonfile import read_json

    source = Path(args.out) / "metrics.json"
    try:
        metrics = read_json(source, "metrics file", 1 << 24, ConfigError)
        # A build run with --no-eval writes only "run"; the card needs the evaluation too.
        missing = [k for k in CARD_KEYS if not isinstance(metrics, dict) or k not in metrics]
        if missing:
            raise ConfigError(f"{source}: not the metrics of an evaluated build (no {', '.join(missing)}); "
                              "run python -m tools.build_model without --no-eval")
        try:
            card = write_model_card(metrics, metrics["labels"], Path(args.out))
        except OSError as exc:
            raise ConfigError(f"{Path(args.out) / 'README.md'}: cannot write the model card "
                              f"({exc.strerror or exc})") from None
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
