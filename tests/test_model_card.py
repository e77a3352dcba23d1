"""The model card is written from the build's metrics, so card, metrics and the bundled model agree."""

import copy
import json
from pathlib import Path

import pytest

from realtime_ser.model.metadata import read_metadata
from tools.evaluate import write_model_card

MODELS = Path(__file__).resolve().parents[1] / "models"


def _metrics() -> dict:
    return json.loads((MODELS / "metrics.json").read_text())


def test_committed_card_is_the_one_the_metrics_write(tmp_path):
    metrics = _metrics()
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert card == (MODELS / "README.md").read_text(), "models/README.md was edited by hand or is stale"
    bundled = read_metadata(MODELS / "ser_int8.tflite")
    assert bundled.metrics["pooled_test_ua"] == metrics["summary"]["pooled_test_ua"]
    assert f"**{100 * metrics['summary']['pooled_test_ua']:.1f}%**" in card


def test_card_describes_how_the_validation_speakers_were_used(tmp_path):
    metrics = _metrics()
    refit = copy.deepcopy(metrics)  # the same build as if made with --refit (models 1.4.0 and 1.5.0)
    refit["run"]["refit"] = True
    refit["run"]["validation_speakers"] = {"ravdess": {"speakers": ["15", "16"]}}
    refit["val"] = {}  # after a refit the validation speakers are training speakers: nothing to score
    refit_card = write_model_card(refit, refit["labels"], tmp_path).read_text()
    assert "fitted once more on the training AND validation speakers" in refit_card
    assert "RAVDESS speakers 15, 16 held out as VALIDATION speakers" in refit_card
    assert "Validation speakers (used for early stopping" not in refit_card

    early = copy.deepcopy(metrics)  # the same build as if made with --no-refit (the default from 1.5.1)
    early["run"]["refit"] = False
    early["val"] = {"int8": {"ravdess": {"ua": 0.61, "wa": 0.62, "n": 240}}}
    card = write_model_card(early, early["labels"], tmp_path).read_text()
    assert "VALIDATION speakers (the `val` rows) select the recipe and the epoch (early stopping)" in card
    assert "fitted once more on the training AND validation speakers" not in card
    assert "Validation speakers (used for early stopping, so optimistic): ravdess UA 61.0%." in card

    crossed = copy.deepcopy(metrics)  # as if built with --cross-fit: no held-out ensemble figure on them
    crossed["run"].update(refit=False, cross_fit=True, validation={"val_ua": 0.655})
    crossed["val"] = {}
    crossed["run"]["splits"]["val"] = {"emodb": {"clips": 116, "speakers": ["11", "13"]}}
    card = write_model_card(crossed, crossed["labels"], tmp_path).read_text()
    assert "each network trains on the training" in card and "early-stops on its own fold" in card
    assert "This build's validation UA (out-of-fold): 65.5%." in card
    german = len(crossed["run"]["splits"]["train"]["emodb"]["speakers"]) + 2  # the validation speakers too
    assert f"and {german} German ones" in card


def test_card_names_the_builds_feature_count(tmp_path):
    metrics = _metrics()
    assert f"({metrics['run'].get('n_mfcc', 20)} MFCC + deltas" in (MODELS / "README.md").read_text()
    wider = copy.deepcopy(metrics)
    wider["run"]["n_mfcc"] = 30
    assert "(30 MFCC + deltas" in write_model_card(wider, wider["labels"], tmp_path).read_text()


def test_card_of_a_session_referenced_build_gives_its_cold_start_figures(tmp_path):
    metrics = _metrics()
    assert "relative to the session's speaker" not in write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    session = copy.deepcopy(metrics)  # as if built with --session-level
    session["run"]["session_level"] = True
    session["cold_start"] = {"ravdess": {"ua": 0.58}, "emodb": {"ua": 0.61}, "pooled": {"ua": 0.59}}
    card = write_model_card(session, session["labels"], tmp_path).read_text()
    assert "the level (c0) taken relative to the session speaker's mean instead of the window's" in card
    assert "This model reads the level (c0) relative to the session's speaker" in card
    assert "RAVDESS (6 actors, 7 classes) 58.0%, EMO-DB (4 speakers, its 6 classes) 61.0%" in card


def test_a_model_carries_the_licences_of_the_corpora_it_learnt_from(tmp_path):
    """A model retrained on other data said it was trained on RAVDESS, TESS and EMO-DB (the text was fixed)."""
    from tools.build_model import model_licence
    from tools.evaluate import BUNDLED_LICENCE

    assert model_licence({"ravdess": {}, "tess": {}, "emodb": {}}) == BUNDLED_LICENCE
    assert read_metadata(MODELS / "ser_int8.tflite").licence == BUNDLED_LICENCE
    savee = model_licence({"savee": {}})
    assert savee == "non-commercial (research use): trained on SAVEE (free for research)"
    assert model_licence(["crema-d", "mine"]) == ("as the corpora's licences allow: trained on CREMA-D "
                                                   "(ODbL 1.0, contents DbCL 1.0) and mine (see its licence)")
    metrics = _metrics()
    metrics["run"]["licence"] = savee
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert f"**Licence: {savee}.**" in card and "Trained on RAVDESS (CC BY-NC-SA 4.0)" not in card


def test_card_and_bench_model_give_the_shipped_files_sizes_in_kib_with_their_bytes():
    """The card said 458 KB in one place and 461 KB (a benchmark's copy, not the shipped file) in another,
    both in 1024s labelled KB; bench_model printed KB too."""
    import re
    import subprocess
    import sys

    card = (MODELS / "README.md").read_text()
    int8, float32 = ((MODELS / name).stat().st_size for name in ("ser_int8.tflite", "ser_float32.tflite"))
    said = f"{int8 / 1024:.0f} KiB ({int8:,} bytes)"
    assert card.count(said) == 2  # the files, and the size target: one measurement of the shipped file
    assert f"| int8 file <= 500 KB (500,000 bytes) | {said} | yes |" in card
    assert f"`ser_float32.tflite`, {float32 / 1024:,.0f} KiB ({float32:,} bytes)" in card
    assert set(re.findall(r"\d[\d,]* KB\b", card)) == {"500 KB"}  # KB only for the budget
    command = [sys.executable, "-m", "tools.bench_model", str(MODELS / "ser_int8.tflite"), "--repeats", "1"]
    proc = subprocess.run(command, cwd=MODELS.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and f"ser_int8.tflite: {said}, inference" in proc.stdout, proc.stderr


def test_every_file_the_card_links_to_is_there():
    """The design log moved out of the card into DESIGN_LOG.md; the card's links and pictures must resolve."""
    import re

    card = (MODELS / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)\)", card)
    assert "DESIGN_LOG.md" in targets and "confusion_pooled.png" in targets
    missing = [t for t in targets if "://" not in t and not (MODELS / t).is_file()]
    assert not missing, f"the model card links to files that are not in models/: {missing}"
    log = (MODELS / "DESIGN_LOG.md").read_text()
    assert "[README.md](README.md)" in log and "## The final fit again (model 1.5.1)" in log


def test_card_says_what_the_recording_chain_does_to_the_answers(tmp_path):
    """A build with DC removal says so under its input, and the evaluation's input-path rows are a table
    of the answers each condition changed, per corpus; a build that measured none prints none."""
    metrics = copy.deepcopy(_metrics())
    metrics["run"]["dc_block"] = True
    metrics.pop("input_path_command", None)  # measured by the build itself
    metrics["input_path"] = {
        "dc": {"what": "1% of full scale DC offset (a cheap sound card)",
               "ravdess": {"ua": 0.614, "changed": 0.0028, "n": 360}, "emodb": {"ua": 0.64, "changed": 0.0, "n": 161},
               "pooled": {"ua": 0.63, "changed": 0.0019, "n": 521}},
        "phone": {"what": "telephone band (a phone call)",
                  "ravdess": {"ua": 0.581, "changed": 0.1528, "n": 360},
                  "emodb": {"ua": 0.569, "changed": 0.2671, "n": 161},
                  "pooled": {"ua": 0.59, "changed": 0.1881, "n": 521}}}
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert "the window's DC offset removed first" in card
    assert ("| input | RAVDESS changed | RAVDESS UA | EMO-DB changed | EMO-DB UA |\n|---|---|---|---|---|\n"
            "| 1% of full scale DC offset (a cheap sound card) | 1 of 360 | 61.4% | 0 of 161 | 64.0% |\n"
            "| telephone band (a phone call) | 55 of 360 | 58.1% | 43 of 161 | 56.9% |\n") in card
    assert "Measured on the files above by `python -m tools.evaluate --input-path" not in card
    assert "the worst there,\n  telephone band, changed 19% of the test clips' answers." in card  # in the limits
    metrics["input_path_command"] = "python -m tools.evaluate --input-path ../shared/data"  # measured afterwards
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert "(Measured on the files above by `python -m tools.evaluate --input-path ../shared/data`.)" in card
    assert "and recording chains" not in card
    metrics["run"]["chain_augment"] = True  # trained on them too (--chain-augment)
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert "with clipping; and recording chains: a phone line (8 kHz sampling, 300 Hz high-pass) in 15%" in card
    del metrics["input_path"], metrics["run"]["dc_block"], metrics["run"]["chain_augment"]  # models up to 1.5.1
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert "DC offset" not in card and "The recording chain" not in card

def test_card_shows_what_the_apps_own_path_scores(tmp_path):
    """The test clips run through the app's own path (VAD, utterances, smoothing) are a table beside the
    whole-clip figures, and a line of the limits; a build that measured none prints neither."""
    metrics = copy.deepcopy(_metrics())
    metrics.pop("live_path_command", None)  # measured by the build itself
    metrics["live_path"] = {
        g: {"ua": ua, "wa": 0.6, "n": n, "no_speech": 1, "split": 7, "same": n - 20}
        for g, ua, n in (("ravdess", 0.6, 360), ("emodb", 0.65, 161), ("pooled", 0.61, 521))}
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    whole = metrics["test"]["int8"]
    assert (f"| RAVDESS | 60.0% | 60.0% | {whole['ravdess']['ua']:.1%} | 340 of 360 | 7 | 1 |\n"
            f"| EMO-DB | 65.0% | 60.0% | {whole['emodb']['ua']:.1%} | 141 of 161 | 7 | 1 |\n"
            f"| pooled | 61.0% | 60.0% | {whole['pooled']['ua']:.1%} | 501 of 521 | 7 | 1 |\n") in card
    assert (f"61.0% pooled UA through its own path against {whole['pooled']['ua']:.1%}, with 20 of 521 answers "
            "different") in card
    assert "--live-path" not in card
    metrics["live_path_command"] = "python -m tools.evaluate --live-path ../shared/data"
    assert "(Measured on the files above by `python -m tools.evaluate --live-path ../shared/data`.)" in \
        write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    del metrics["live_path"]
    card = write_model_card(metrics, metrics["labels"], tmp_path).read_text()
    assert "Through the app's own path" not in card and "through its own path" not in card


def _remeasured(option: str, tmp_path, data) -> dict:
    """metrics.json after ``tools.evaluate OPTION DATA`` on a copy of the bundled model and its metrics."""
    import shutil
    import subprocess
    import sys

    from conftest import REPO, cli_env

    for name in ("metrics.json", "ser_int8.tflite"):
        shutil.copyfile(MODELS / name, tmp_path / name)
    proc = subprocess.run([sys.executable, "-m", "tools.evaluate", "--out", str(tmp_path), option, str(data),
                           "--cache", str(tmp_path / "cache")], cwd=REPO, env=cli_env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((tmp_path / "metrics.json").read_text())


def test_live_path_rows_are_measured_for_a_built_model_and_reproduce_its_figures(tmp_path, data):
    """``tools.evaluate --live-path`` on the bundled model: the real test clips through the real pipeline
    and model, into metrics.json and the card, as committed (within what another CPU's rounding can tip)."""
    metrics = _remeasured("--live-path", tmp_path, data)
    rows, committed = metrics["live_path"], _metrics()["live_path"]
    for corpus in ("ravdess", "emodb", "pooled"):
        row = rows[corpus]
        assert row["n"] == metrics["test"]["int8"][corpus]["n"] and row["no_speech"] == 0
        assert row["ua"] == pytest.approx(committed[corpus]["ua"], abs=0.01)
        assert abs(row["same"] - committed[corpus]["same"]) <= 0.01 * row["n"]
        assert row["split"] == committed[corpus]["split"]  # the VAD's cuts do not depend on the model
        assert 0.8 * row["n"] < row["same"] <= row["n"]  # mostly the whole-clip answers
    assert metrics["live_path_command"] == f"python -m tools.evaluate --live-path {data}"
    assert "| pooled | " in (tmp_path / "README.md").read_text().split("Through the app's own path")[1]


def test_input_path_rows_are_measured_for_a_built_model_and_reproduce_its_figures(tmp_path, data):
    """``tools.evaluate --input-path`` on the bundled model and the real test speakers: the rows go into
    metrics.json and the card; the DC-offset row (an offset the model removes) scores what the build did."""
    metrics = _remeasured("--input-path", tmp_path, data)
    rows = metrics["input_path"]
    assert list(rows) == ["dc", "clipped", "phone", "mp3"]
    committed = _metrics()["input_path"]  # what the committed card shows (measured here; another CPU's
    for corpus in ("ravdess", "emodb", "pooled"):  # rounding may tip a borderline clip, no more)
        assert rows["dc"][corpus]["changed"] <= 0.005
        assert rows["dc"][corpus]["ua"] == pytest.approx(metrics["test"]["int8"][corpus]["ua"], abs=0.01)
        assert rows["dc"][corpus]["n"] == metrics["test"]["int8"][corpus]["n"]
        assert 0.0 < rows["phone"][corpus]["changed"] < 0.5  # it moves answers, and not most of them
        for name, row in rows.items():
            assert row[corpus]["ua"] == pytest.approx(committed[name][corpus]["ua"], abs=0.01), name
            assert row[corpus]["changed"] == pytest.approx(committed[name][corpus]["changed"], abs=0.01), name
    assert metrics["input_path_command"] == f"python -m tools.evaluate --input-path {data}"
    card = (tmp_path / "README.md").read_text()
    assert "| 1% of full scale DC offset (a cheap sound card) | " in card and "| MP3 at about 16 kbit/s" in card
