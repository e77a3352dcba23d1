"""The main window with real widgets offscreen, the real model and real audio through the real pipeline."""

from __future__ import annotations

import csv
import math
from pathlib import Path
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from realtime_ser.audio.io import load_audio
from realtime_ser.errors import SerError
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent, SpeechEvent
from realtime_ser.pipeline.smoothing import percent_shown
from realtime_ser.pipeline.worker import analyze_file

from tests.conftest import run_cli

from .conftest import CLIPS, DEMO, wait_replay_done


@pytest.fixture(scope="module")
def demo_finals(model):
    """What the core produces for the demo file on its own, without any GUI."""
    return [e for e in analyze_file(DEMO, model) if isinstance(e, EmotionEvent) and e.final]


def test_window_builds_with_every_part(make_window, model):
    w = make_window()
    assert w.windowTitle().endswith(" — realtime-ser")
    for lab in list(model.labels) + [UNCERTAIN, "partial"]:
        assert w.timeline.legend.findChild(type(w.timeline.legend), f"legend_{lab}") is not None
    assert set(w.now_panel.bars) == set(model.labels)
    assert model.metadata.model_version in w.status_model.text()
    assert w.status_rate.text() == "16000 Hz"
    hint, smallest = w.minimumSizeHint(), w.minimumSize()
    # the smallest window fits 1366x768 at 125 % scaling (1093x614 less a taskbar and a title bar),
    # and everything in it fits the smallest window (nothing squeezed under its own minimum)
    assert smallest.width() <= 1093 and smallest.height() <= 550
    assert hint.width() <= smallest.width() and hint.height() <= smallest.height()
    shortcuts = {a.shortcut().toString() for a in w.actions()}
    assert {"Space", "Ctrl+O", "Ctrl+R", "Ctrl+E", "Ctrl+Q"} <= shortcuts


def test_replay_fills_views_with_the_core_events(make_window, qtbot, model, demo_finals):
    w = make_window()
    assert w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    audio = load_audio(DEMO, 16000)
    # Waveform and spectrogram saw every sample of the file.
    assert w.envelope.total_samples == audio.size
    assert w.mel.total_frames == 1 + (audio.size - 512) // 160
    assert w.envelope.update_display()[1].max() > 0.1
    assert (w.mel.update_display() > -60).mean() > 0.2
    # The timeline holds exactly the final results the core computes for this file.
    finals = w.timeline_model.final_events()
    assert len(demo_finals) >= 5
    assert [(e.utterance_id, e.label) for e in finals] == [(e.utterance_id, e.label) for e in demo_finals]
    for got, ref in zip(finals, demo_finals):
        assert got.start == pytest.approx(ref.start, abs=1e-6) and got.end == pytest.approx(ref.end, abs=1e-6)
        assert got.probabilities == pytest.approx(ref.probabilities, abs=1e-6)
    assert w.timeline.band_count() == len(finals)
    for e in finals:
        band = w.timeline.band(e.utterance_id)
        assert band.rect().left() == pytest.approx(e.start)
        assert band.rect().height() == pytest.approx(max(0.08, e.confidence))
        expected = w.emotion_colors[e.label]
        assert band.brush().color().rgb() == expected.rgb()
        if e.label == UNCERTAIN:
            assert band.brush().style() == Qt.BrushStyle.BDiagPattern
    # The now panel shows the last result; the status bar the latency.
    assert w.now_panel.emotion_label.text() == finals[-1].label
    assert w.status_latency.text().startswith("latency ") and "–" not in w.status_latency.text()


def test_partial_results_update_while_speaking(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "FEA.wav")
    partial_bands = []

    def partial_drawn() -> bool:
        for utt in w.timeline_model.utterances:
            band = w.timeline.band(utt.utterance_id)
            if utt.emotion is not None and not utt.emotion.final and band is not None:
                partial_bands.append((utt.utterance_id, utt.emotion, band.pen().style(), band.brush().style()))
        return len({id(e) for _, e, _, _ in partial_bands}) >= 2

    qtbot.waitUntil(partial_drawn, timeout=8000)  # two successive partial estimates were drawn
    uid, event, pen_style, brush_style = partial_bands[0]
    assert pen_style == Qt.PenStyle.DashLine  # partial: dashed outline until final
    # striped in its emotion's full colour (an uncertain one stays grey and hatched)
    assert brush_style == (Qt.BrushStyle.BDiagPattern if event.uncertain else Qt.BrushStyle.TexturePattern)
    assert w.now_panel.detail_label.text().count("still speaking") == 1 or w.timeline_model.get(uid).final
    wait_replay_done(qtbot, w)
    assert w.timeline_model.get(uid).final
    assert w.timeline.band(uid).pen().style() == Qt.PenStyle.SolidLine
    final = w.timeline_model.get(uid).emotion
    assert w.timeline.band(uid).brush().style() == (Qt.BrushStyle.BDiagPattern if final.uncertain
                                                   else Qt.BrushStyle.SolidPattern)


def test_a_finished_replay_plays_again_from_any_point_keeping_what_came_before(make_window, qtbot):
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    before = w.timeline_model.final_events()
    assert len(before) == 6 and w.replay_bar.title.text().startswith("Replayed <b>demo-session.flac")
    assert w.replay_bar.pause_button.isEnabled() and w.back_action.isEnabled()  # not a dead end
    marker = w.add_marker("look here", at=before[3].start)
    w.seek(before[3].start - 0.5)  # e.g. from the marker list or the slider after the end
    assert w.engine.running and w.replay_bar.title.text().startswith("Replaying")
    wait_replay_done(qtbot, w)
    after = w.timeline_model.final_events()
    assert [e.utterance_id for e in after] == [1, 2, 3, 7, 8, 9]  # earlier results kept, later ones numbered on
    assert [(e.label, round(e.confidence, 3)) for e in after] == [(e.label, round(e.confidence, 3)) for e in before]
    assert w.timeline_model.markers == [marker] and w.now_panel.summary_label.text().startswith("6 utterances")
    w.replay_bar.pause_button.click()  # the play button at the end: from the start again
    wait_replay_done(qtbot, w)
    assert [e.utterance_id for e in w.timeline_model.final_events()] == [10, 11, 12, 13, 14, 15]
    assert "No speech found" not in w.banner.text.text()


def test_a_new_source_starts_at_full_scale_on_a_timeline_from_zero(make_window, qtbot, tmp_path):
    import soundfile as sf

    w = make_window()
    assert w.timeline.plot.getViewBox().viewRange()[0] == [0.0, 60.0]  # before anything ran
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    assert w.waveform.getViewBox().viewRange()[1][1] > 0.3  # the demo's speech peaks near 0.45
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, (np.random.default_rng(0).standard_normal(3 * 16000) * 0.002).astype(np.float32), 16000)
    w.open_recording(quiet)
    wait_replay_done(qtbot, w)
    assert w.waveform.getViewBox().viewRange()[1][1] < 0.06  # scaled to the quiet file, not the loud one


def test_tooltip_shows_time_label_and_all_probabilities(make_window, qtbot, model):
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    utt = w.timeline_model.utterances[2]
    text = w.timeline.tooltip_text((utt.start + utt.end) / 2)
    assert f"Utterance {utt.utterance_id}" in text
    assert utt.emotion.label in text and f"{percent_shown(utt.emotion.confidence)})" in text
    lines = text.splitlines()
    for lab in model.labels:  # rounded down, as the confidence: 0.3996 must not read 40.0% at a 40% threshold
        assert f"  {lab:<10} {percent_shown(utt.emotion.probabilities[lab], 1):>6}" in lines
    assert w.timeline.tooltip_text(utt.end + 0.8) is None  # in the pause between clips


def test_space_starts_and_stops(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    assert w.engine.running and w.start_action.text() == "Stop"
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    assert w.start_action.text() == "Start"


def test_pause_and_seek_replay(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 0.5, timeout=5000)
    w.replay_bar.pause_button.click()
    qtbot.wait(200)
    paused_at = w.replay_position()
    qtbot.wait(500)
    assert w.replay_position() - paused_at < 0.1
    w.replay_bar.pause_button.click()
    w.seek(20.0)
    qtbot.waitUntil(lambda: w.replay_position() > 20.2, timeout=5000)
    assert w.replay_bar.time_label.text().startswith("0:20")
    w.seek(2.0)  # backwards: results after 2 s are dropped and recomputed
    qtbot.waitUntil(lambda: 2.0 < w.replay_position() < 4.0, timeout=5000)
    assert all(u.start < 2.0 or u.start > w.replay_position() - 3 for u in w.timeline_model.utterances)


def _demo_paused_and_sought_to_15_s(make_window, qtbot):
    """A window replaying the demo, paused after a second and sought to 15 s."""
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 1.0, timeout=5000)
    w.replay_bar.pause_button.click()
    qtbot.wait(200)
    w.seek(15.0)
    return w


def test_a_seek_while_paused_is_shown_and_marked_at_once(make_window, qtbot):
    """Pause, seek, mark (annotating a recording): the bar stayed at the old time, and the marker
    was put there (2.0 s, not 15 s), as a paused replay reads no audio until it resumes."""
    w = _demo_paused_and_sought_to_15_s(make_window, qtbot)
    qtbot.wait(300)
    assert w.replay_position() == 15.0 and w.replay_bar.time_label.text().startswith("0:15.0")
    assert w.add_marker("here").time == 15.0
    w.replay_bar.pause_button.click()  # on from there
    qtbot.waitUntil(lambda: w.replay_position() > 15.3, timeout=5000)
    assert w.replay_position() < 17.0 and w.envelope.end_time > 15.0


def test_a_seek_while_paused_then_stop_and_play_from_elsewhere(make_window, qtbot):
    """Pause, seek to 15 s, Stop, then play from 3 s: the bar stayed at 15 s and Mark marked there
    while the audio went on from 3 s (the old seek's target outlived the replay). And Mark with note
    after a seek while paused took the old moment (1.0 s) where Mark took the new one."""
    w = _demo_paused_and_sought_to_15_s(make_window, qtbot)
    w.mark_with_note()
    w._note_dialog.setTextValue("with a note")
    w._note_dialog.accept()
    assert [(m.time, m.note) for m in w.timeline_model.markers] == [(15.0, "with a note")]
    w.stop()
    assert not w.engine.running
    w.seek(3.0)  # a finished replay: played again from there
    qtbot.waitUntil(lambda: w.engine.running and w.envelope.end_time > 3.3, timeout=5000)
    assert 3.0 < w.replay_position() < 5.0 and w.replay_bar.time_label.text().startswith(("0:03", "0:04"))
    assert 3.0 < w.add_marker().time < 5.0


def test_seeking_back_in_a_finished_replay_clears_the_result_shown(make_window, qtbot):
    """The Now panel kept the last utterance's result (21.3-23.6 s) after a seek back to 0.5 s
    had dropped it, and the status bar still said the replay had finished."""
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 0.2, timeout=5000)
    w.seek(20.0)
    wait_replay_done(qtbot, w)
    assert w.now_panel.emotion_label.text() != "—"
    assert w.statusBar().currentMessage().startswith("Replay finished")
    w.seek(0.5)
    qtbot.waitUntil(lambda: 0.6 < w.envelope.end_time < 2.0, timeout=5000)
    assert w.timeline_model.final_events() == []
    assert w.now_panel.emotion_label.text() == "—" and w.now_panel.detail_label.text() == "waiting for speech"
    assert not w.statusBar().currentMessage().startswith("Replay finished")


def test_a_recorded_replay_cut_short_by_a_corrupt_file_is_saved_as_stopped(make_window, qtbot, tmp_path):
    import numpy as np
    import soundfile as sf

    from realtime_ser.session.reader import Session

    audio, rate = sf.read(CLIPS / "ANG.wav")
    cut = tmp_path / "cut.flac"
    sf.write(cut, np.tile(audio, 3), rate)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    w = make_window(realtime_replay=True)
    w.open_recording(cut)
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    session = Session.open(folder)
    assert session.status == "stopped" and "corrupt or truncated audio" in session.manifest["error"]
    assert "corrupt or truncated audio" in w.banner.text.text()
    # not "Replay finished", which it is not
    assert w.statusBar().currentMessage().startswith("Replay stopped at 0:0"), w.statusBar().currentMessage()
    assert "the rest of the file cannot be read" in w.statusBar().currentMessage()


def test_seeking_back_while_someone_speaks_leaves_one_band_per_utterance(make_window, qtbot):
    """The demo's first utterance (about 1.0-3.4 s) is cut by a seek back to 0.5 s: the result the
    pipeline gives the cut utterance arrives after the window dropped it, and must not come back
    as a second band over the recomputed one."""
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 2.0 and w.engine.pipeline.stats.in_speech, timeout=8000)
    w.timer.stop()  # the window sees the cut utterance's result and the audio after the seek in one tick
    w.seek(0.5)
    qtbot.wait(500)  # the worker cuts the utterance, sends its result, then audio from 0.5 s on
    w.timer.start()
    qtbot.waitUntil(lambda: w.replay_position() > 4.5, timeout=8000)
    w.stop()
    qtbot.waitUntil(lambda: w._finished_reported, timeout=5000)
    first = [u for u in w.timeline_model.utterances if u.start < 4.0]
    assert len(first) == 1 and first[0].final and first[0].end > 3.0  # the whole utterance, heard again
    ends = [u.end for u in w.timeline_model.utterances]
    starts = [u.start for u in w.timeline_model.utterances]
    assert all(e <= s for e, s in zip(ends, starts[1:]))  # no two bands overlap


def test_export_csv_and_json(make_window, qtbot, tmp_path, model):
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    finals = w.timeline_model.final_events()
    rows = list(csv.DictReader(w.export_to(tmp_path / "t.csv").open()))
    assert [int(r["utterance_id"]) for r in rows] == [e.utterance_id for e in finals]
    assert [r["label"] for r in rows] == [e.label for e in finals]
    for r, e in zip(rows, finals):
        assert float(r["start"]) == pytest.approx(e.start, abs=1e-3)
        assert float(r[f"p_{e.top_label}"]) == pytest.approx(e.probabilities[e.top_label], abs=1e-4)
    assert {(r["file"], r["final"]) for r in rows} == {("demo-session.flac", "1")}
    # one table for the app and the command line: a script reading one reads the other
    analyzed = run_cli("analyze", str(DEMO))
    assert analyzed.returncode == 0, analyzed.stderr
    assert analyzed.stdout.splitlines()[0] == (tmp_path / "t.csv").read_text().splitlines()[0]
    assert [r[2:] for r in csv.reader(analyzed.stdout.splitlines()[1:])] == \
        [r[2:] for r in csv.reader((tmp_path / "t.csv").read_text().splitlines()[1:])]
    data = json.loads(w.export_to(tmp_path / "t.json").read_text())
    assert [entry["file"] for entry in data] == ["demo-session.flac"]
    assert [EmotionEvent.from_dict(d) for d in data[0]["events"]] == finals
    assert list(finals[0].probabilities) == list(model.labels)
    # the JSON analyze writes, less the speech start/end events the timeline does not keep
    analyzed = json.loads(run_cli("analyze", str(DEMO), "--format", "json").stdout)

    def results(events):  # latency is a measurement of each run
        return [{k: v for k, v in e.items() if k != "latency_ms"} for e in events if e["type"] != "speech"]

    assert results(data[0]["events"]) == results(analyzed[0]["events"])
    with pytest.raises(SerError, match="unknown export format"):
        w.export_to(tmp_path / "t.xlsx")


def test_export_is_offered_once_there_is_something_and_named_after_the_source(make_window, qtbot, tmp_path):
    w = make_window()
    assert not w.export_action.isEnabled()  # nothing ran yet: nothing to export
    assert w._export_stem().startswith("microphone-emotions-")
    w.open_recording(CLIPS / "HAP.wav")
    wait_replay_done(qtbot, w)
    w._update_controls()
    assert w.export_action.isEnabled() and w._export_stem() == "HAP-emotions"


def test_export_png_pictures_the_whole_session_and_keeps_the_view(make_window, qtbot, tmp_path):
    from PySide6.QtGui import QImage

    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    vb = w.timeline.plot.getViewBox()
    vb.setXRange(5.0, 8.0, padding=0)  # zoomed in on one utterance: the picture still shows all
    w.timeline.set_following(False)
    shown = vb.viewRange()[0]
    (tmp_path / "pictures").mkdir()
    w.timeline.refresh(w.envelope.end_time - 0.3)  # as when the last tick redrew only the waveform
    out = w.export_to(tmp_path / "pictures" / "timeline.png")
    # the picture (and its title's length) reaches the end of the audio
    assert w.timeline.now == pytest.approx(w.replay_bar.duration, abs=0.02)
    image = QImage(str(out))
    assert image.width() == 1800 and image.height() > 150
    assert vb.viewRange()[0] == pytest.approx(shown) and not w.timeline.following
    # every utterance's band is in the picture: its colour appears across the width of the session
    # every result's band is in the picture: its hue (blended by its opacity) appears
    hues = {image.pixelColor(x, y).hue() for x in range(0, 1800, 3) for y in range(60, image.height() - 40, 4)
            if image.pixelColor(x, y).saturation() > 30}  # light bands of low confidence included
    finals = [e for e in w.timeline_model.final_events() if e.label != UNCERTAIN]
    assert len(finals) >= 3
    for e in finals:
        hue = w.timeline.emotion_colors[e.label].hue()
        assert any(min(abs(h - hue), 360 - abs(h - hue)) <= 6 for h in hues), e.label
    assert sorted(p.name for p in out.parent.iterdir()) == ["timeline.png"]  # no temporary left
    w.timeline.set_following(True)  # following live: still following after the export
    before = vb.viewRange()[0]
    w.export_to(out)
    assert w.timeline.following and vb.viewRange()[0] == pytest.approx(before)
    with pytest.raises(SerError, match="no such folder"):
        w.export_to(tmp_path / "missing" / "t.png")


def test_record_session_while_replaying(make_window, qtbot, tmp_path):
    from realtime_ser.session.reader import Session

    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "ANG.wav")
    w.record_action.trigger()
    assert w.record_action.isChecked() and w.engine.recorder is not None
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    assert not w.record_action.isChecked()  # recording ends with the source
    session = Session.open(folder)
    assert folder.parent == tmp_path / "sessions"
    recorded = load_audio(session.audio_path, 16000)
    original = load_audio(CLIPS / "ANG.wav", 16000)
    assert recorded.size > 0.8 * original.size
    finals = [e for e in session.events if isinstance(e, EmotionEvent) and e.final]
    assert [e.label for e in finals] == [e.label for e in w.timeline_model.final_events()][: len(finals)]
    assert any(isinstance(e, SpeechEvent) for e in session.events)


def test_a_replay_sought_forward_while_recorded_goes_on_without_silence(make_window, qtbot, tmp_path, demo_finals):
    """Recording a replay and seeking forward 13 s filled the recording with 13 s of silence (the jump
    looked like lost audio); now the recording goes on from the new place, its results where their
    audio is."""
    from realtime_ser.session.reader import Session

    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.replay_position() > 1.5, timeout=5000)
    w.seek(15.0)
    wait_replay_done(qtbot, w)
    session = Session.open(folder)
    recorded = load_audio(session.audio_path, 16000)
    demo = load_audio(DEMO, 16000)
    # about 1.5 s before the seek and the 9.8 s after 15 s, and no silence for the 13 s skipped
    assert 10.5 * 16000 < recorded.size < (demo.size / 16000 - 12.0) * 16000
    assert session.manifest["gap_samples"] == 0
    np.testing.assert_allclose(recorded[-5 * 16000:], demo[-5 * 16000:], atol=1e-4)  # the end, where it was
    # the results after the seek lie where their audio is in the recording (not 13 s later): shifted
    # by what was skipped, they are those of the demo analysed whole (but for the utterance the seek
    # landed in, heard from 15 s on)
    skipped = (demo.size - recorded.size) / 16000
    after = [e for e in session.events if isinstance(e, EmotionEvent) and e.final and e.start + skipped > 15.5]
    expected = [e for e in demo_finals if e.start > 15.5]
    assert len(after) == len(expected) >= 2
    for got, want in zip(after, expected):
        assert (got.start + skipped, got.end + skipped) == pytest.approx((want.start, want.end), abs=0.05)
        assert got.end <= recorded.size / 16000


def test_a_recording_nothing_reached_is_not_kept(make_window, qtbot, tmp_path):
    """Record toggled on and off with no audio between (at once, or while paused) left a folder that
    Recorded sessions listed as a complete session of 0:00."""
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.5, timeout=5000)
    w.replay_bar.pause_button.click()
    qtbot.wait(200)
    for _ in range(3):
        w.record_action.trigger()
        assert w.engine.recorder is not None
        w.record_action.trigger()
    assert not (tmp_path / "sessions").exists() or list((tmp_path / "sessions").iterdir()) == []
    assert w.statusBar().currentMessage() == "Recording stopped before any audio reached it: nothing was kept"
    w.record_action.trigger()  # with audio it is kept
    w.replay_bar.pause_button.click()
    qtbot.waitUntil(lambda: w.envelope.end_time > 2.0, timeout=5000)
    w.record_action.trigger()
    assert len(list((tmp_path / "sessions").iterdir())) == 1


def test_replaying_the_session_being_recorded_replays_all_of_it(make_window, qtbot, tmp_path):
    """Picked from Recorded sessions while it was recorded: its length was read before the recording
    was stopped and saved, so the bar said 4.6 s of a 5 s session (and stayed there while it played on)."""
    from realtime_ser.session.reader import Session

    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.envelope.end_time > 3.0, timeout=10000)
    assert w.open_recording(folder)
    saved = Session.open(folder)
    assert saved.status == "complete" and w.engine.recorder is None and not w.record_action.isChecked()
    assert w.replay_bar.duration == pytest.approx(saved.duration, abs=1e-3)
    assert w.engine.info.duration == pytest.approx(saved.duration, abs=1e-3)


def test_missing_microphone_shows_banner_and_plays_demo(make_window, qtbot):
    w = make_window()
    assert not w.start_microphone("no-such-microphone-xyz")
    assert w.banner.isVisible()
    assert "No microphone available:" in w.banner.text.text()
    assert "no-such-microphone-xyz" in w.banner.text.text()
    assert QApplication.activeModalWidget() is None  # says so without blocking
    assert w.mode == "replay" and w.engine.info.path == DEMO
    assert "Playing the bundled demo session instead." in w.banner.text.text()
    wait_replay_done(qtbot, w)
    assert len(w.timeline_model.final_events()) >= 5
    assert w.banner.isVisible()  # the explanation stays until dismissed, and stays true
    text = w.banner.text.text()
    assert "The bundled demo session was played instead." in text and "Playing" not in text
    assert "no-such-microphone-xyz" in text
    again = next(b for b in w.banner.buttons if b.text() == "Play demo again")
    again.click()
    assert "Playing the bundled demo session instead." in w.banner.text.text()
    wait_replay_done(qtbot, w)
    assert w.banner.text.text() == text


def test_user_settings_shape_results_and_choose_the_session_folder(make_window, qtbot, tmp_path, demo_finals):
    from realtime_ser.config import Settings

    config = Settings(confidence_threshold=0.99, session_dir=str(tmp_path / "my sessions"))
    w = make_window(config=config, sessions_dir=None)
    assert w.sessions_dir == tmp_path / "my sessions"  # the folder the command line records into
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    finals = w.timeline_model.final_events()
    assert len(finals) == len(demo_finals) and {e.label for e in finals} == {UNCERTAIN}  # none reaches 0.99
    assert {e.top_label for e in finals} == {e.top_label for e in demo_finals}


def _preferences(qtbot, w):
    from realtime_ser.gui.preferences import PreferencesDialog

    w.preferences_action.trigger()
    dialog = w.findChild(PreferencesDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert QApplication.activeModalWidget() in (None, dialog)  # window-modal, the event loop runs on
    return dialog


def test_preferences_are_saved_for_the_command_line_and_used_from_the_next_replay(make_window, qtbot, tmp_path):
    from PySide6.QtWidgets import QDialogButtonBox

    from realtime_ser.config import load

    path = tmp_path / "conf" / "config.json"
    w = make_window(config_path=path, sessions_dir=None)
    dialog = _preferences(qtbot, w)
    assert dialog.confidence.text() == "40%"  # the defaults, shown
    dialog.confidence.setValue(99)
    dialog.smoothing.setValue(0.5)
    dialog.session_dir.setText(str(tmp_path / "mine"))
    dialog.record_sessions.setChecked(True)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    saved = load(path)  # what `realtime-ser listen` will read
    assert (saved.confidence_threshold, saved.smoothing, saved.session_dir, saved.record_sessions) == \
        (0.99, 0.5, str(tmp_path / "mine"), True)
    assert w.sessions_dir == tmp_path / "mine"
    assert w.statusBar().currentMessage() == (
        f"Preferences saved in {path}. Applied now: confidence threshold 99%, session folder. From the next "
        "start or replay: smoothing. From the next start of the microphone: recording every session.")
    w.open_recording(CLIPS / "ANG.wav")
    wait_replay_done(qtbot, w)
    assert {e.label for e in w.timeline_model.final_events()} == {UNCERTAIN}


def _save_preferences(qtbot, w, percent: int) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    w.preferences_action.trigger()
    dialog = w._preferences  # the one just opened (an earlier one is still a child of the window)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    dialog.confidence.setValue(percent)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def test_a_new_confidence_threshold_relabels_the_results_shown_at_once(make_window, qtbot, tmp_path):
    w = make_window(config_path=tmp_path / "config.json")
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    shown = [e.label for e in w.timeline_model.final_events()]
    confidences = [e.confidence for e in w.timeline_model.final_events()]
    # the demo's results lie on both sides of the default 40%: under all of them, then over all of them
    assert min(confidences) < 0.40 <= max(confidences) < 0.99, confidences
    steps = []
    for percent in (math.floor(100 * min(confidences)), math.floor(100 * max(confidences)) + 1):
        _save_preferences(qtbot, w, percent)
        assert w.statusBar().currentMessage().endswith(f"Applied now: confidence threshold {percent}%.")
        finals = w.timeline_model.final_events()
        expected = [e.top_label if e.confidence >= percent / 100 else UNCERTAIN for e in finals]
        assert [e.label for e in finals] == expected != shown
        shown = expected
        steps.append(expected)
        for e in finals:  # redrawn at once, though nothing is running
            band = w.timeline.band(e.utterance_id)
            assert band.brush().color().rgb() == w.emotion_colors[e.label].rgb()
            assert (band.brush().style() == Qt.BrushStyle.BDiagPattern) == (e.label == UNCERTAIN)
        assert w.now_panel.emotion_label.text() == finals[-1].label
        assert w.now_panel.summary_label.text().count(f"> {finals[-1].label}<") == 1
    labelled, uncertain = steps  # both ways: the top label at or above the threshold, uncertain below it
    assert labelled == [e.top_label for e in finals] and set(uncertain) == {UNCERTAIN}


def test_a_new_confidence_threshold_applies_to_a_running_pipeline_but_not_to_its_recording(make_window, qtbot,
                                                                                         model, tmp_path):
    from realtime_ser.session.reader import Session

    (ref,) = [e for e in analyze_file(CLIPS / "ANG.wav", model) if isinstance(e, EmotionEvent) and e.final]
    assert ref.label != UNCERTAIN and ref.confidence < 0.9  # labelled at the default 40%, not at 90%
    w = make_window(realtime_replay=True, config_path=tmp_path / "config.json")
    w.open_recording(CLIPS / "ANG.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    qtbot.waitUntil(lambda: w.now_panel.event is not None, timeout=8000)  # a partial: still speaking
    assert w.engine.running and not w.now_panel.event.final
    _save_preferences(qtbot, w, 90)
    assert w.engine.running and w.now_panel.emotion_label.text() == UNCERTAIN
    wait_replay_done(qtbot, w)
    assert [(e.label, e.top_label, e.confidence) for e in w.timeline_model.final_events()] == \
        [(UNCERTAIN, ref.top_label, ref.confidence)]
    assert w.now_panel.emotion_label.text() == UNCERTAIN
    # The recording keeps what the pipeline decided (with the threshold it was started with, as its
    # manifest says); replaying it applies the threshold set then.
    recorded = [e for e in Session.open(folder).events if isinstance(e, EmotionEvent) and e.final]
    assert [(e.label, e.confidence) for e in recorded] == [(ref.label, ref.confidence)]


def test_cancelled_or_unsavable_preferences_change_nothing(make_window, qtbot, tmp_path):
    path = tmp_path / "config.json"
    w = make_window(config_path=path)
    dialog = _preferences(qtbot, w)
    dialog.confidence.setValue(90)
    dialog.reject()
    assert not path.exists() and w.config.confidence_threshold == 0.4
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    w.config_path = blocker / "config.json"
    assert not w.apply_preferences(dialog.settings())
    assert "cannot save settings" in w.banner.text.text() and w.config.confidence_threshold == 0.4
    assert w.engine.pipeline_config.confidence_threshold == 0.4


def test_preferences_are_not_saved_over_a_settings_file_that_is_not_valid_json(make_window, qtbot, tmp_path):
    """A settings file with one trailing comma was read as defaults (with a warning), and Save in
    Preferences then replaced it with those defaults: the model, microphone and folders it held were lost."""
    path = tmp_path / "config.json"
    text = '{"model_path": "/models/mine.tflite", "session_dir": "/data/sessions",}'
    path.write_text(text)
    w = make_window(config_path=path)
    dialog = _preferences(qtbot, w)
    dialog.confidence.setValue(50)
    assert not w.apply_preferences(dialog.settings())
    assert "cannot save settings" in w.banner.text.text() and "fix or remove it first" in w.banner.text.text()
    assert path.read_text() == text and w.config.confidence_threshold == 0.4
    path.write_text('{"model_path": "/models/mine.tflite", "session_dir": "/data/sessions"}')  # fixed by hand
    assert w.apply_preferences(dialog.settings())
    assert json.loads(path.read_text())["session_dir"] == "/data/sessions"  # the app's default not written over it


def test_settings_problems_join_the_banner_without_hiding_it(make_window):
    w = make_window()
    assert not w.start_microphone("no-such-microphone-xyz")
    w.show_settings_problems(["config.json: setting 'smoothing' must be a number >= 0 and <= 1, not 2"])
    text = w.banner.text.text()
    assert "No microphone available:" in text and "Settings file:" in text and "'smoothing'" in text
    assert [b.text() for b in w.banner.buttons if not b.isHidden()] == ["Retry microphone", "Play demo again"]
    w.banner.dismiss()  # the user's ✕
    w.show_settings_problems(["second"])
    assert w.banner.isVisible() and w.banner.text.text() == "<b>Settings file:</b> second"
    assert all(b.isHidden() for b in w.banner.buttons)


def test_settings_problems_stay_in_the_banner_until_dismissed(make_window, qtbot):
    """Retry microphone (failing again) rewrote the banner without its "Settings file" lines, and a replay
    that began hid them: the user never saw why their settings were not used."""
    w = make_window()
    assert not w.start_microphone("no-such-microphone-xyz")
    w.show_settings_problems(["config.json: setting 'smoothing' must be a number >= 0 and <= 1, not 2"])
    retry = next(b for b in w.banner.buttons if b.text() == "Retry microphone")
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    text = w.banner.text.text()
    assert "No microphone available:" in text and "'smoothing'" in text
    assert w.open_recording(DEMO)  # the no-microphone message no longer applies; the settings' problem does
    assert w.banner.isVisible() and w.banner.text.text().startswith("<b>Settings file:</b> config.json")
    assert "No microphone" not in w.banner.text.text() and all(b.isHidden() for b in w.banner.buttons)
    w.banner.dismiss()
    assert w.banner.isHidden()
    assert w.open_recording(DEMO) and w.banner.isHidden()
    assert all(b.isHidden() for b in w.banner.buttons)


def test_calibrate_noise_status_event_reaches_status_bar(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(DEMO)
    qtbot.waitUntil(lambda: w.replay_position() > 0.1, timeout=5000)
    w.sensitivity.calibrate_button.click()
    qtbot.waitUntil(lambda: any("noise floor" in e.message for e in w.status_log), timeout=5000)
    assert "noise floor" in w.statusBar().currentMessage()


def test_settings_are_remembered(make_window, settings, qtbot):
    from realtime_ser.gui.settings import GuiSettings

    w = make_window()
    w.sensitivity.slider.setValue(80)
    w.resize(1200, 700)
    w.close()
    again = GuiSettings(settings.path)
    assert again.sensitivity == 80
    w2 = make_window(settings_obj=again, resize=False)
    assert w2.sensitivity.slider.value() == 80
    assert w2.size().width() == 1200 and w2.size().height() == 700
    assert w2.engine.threshold_db == pytest.approx(6.0)


def test_about_box_shows_model_card(make_window, model, qtbot):
    w = make_window()
    w.about_action.trigger()
    text = w._about.text()
    assert model.metadata.model_version in text
    for lab in model.labels:
        assert lab in text
    assert "non-commercial" in text
    assert not w._about.isModal()
    qtbot.waitExposed(w._about)
    # all of it in view where the screen has room (1080 px here): nothing cut off, nothing to scroll
    assert text.rstrip().endswith("never as a judgement about a person.")
    assert w._about.browser.verticalScrollBar().maximum() == 0
    assert w._about.height() <= w._about.screen().availableGeometry().height()
    w._about.close()


def test_bad_recording_is_reported_not_raised(make_window, tmp_path):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"not audio at all" * 10)
    w = make_window()
    assert not w.open_recording(bad)
    assert w.banner.isVisible() and "noise.wav" in w.banner.text.text()
    assert not w.engine.running
    # a name that looks like markup is shown as named (it was read as HTML: big red "BIG", name lost)
    odd = tmp_path / "Q&A <font color=red size=7>BIG.wav"
    odd.write_bytes(b"not audio at all" * 10)
    assert not w.open_recording(odd)
    shown = QTextDocument()
    shown.setHtml(w.banner.text.text())
    assert f"{odd}: " in shown.toPlainText()


def test_a_file_with_a_header_and_no_samples_leaves_the_replay_on_screen(make_window, qtbot, tmp_path):
    """Its header read fine, so the demo's results were wiped before the empty file failed."""
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    shown = w.timeline_model.final_events()
    empty = tmp_path / "header-only.wav"
    empty.write_bytes((CLIPS / "ANG.wav").read_bytes()[:44])
    assert not w.open_recording(empty)
    assert f"{empty}: contains no audio samples" in w.statusBar().currentMessage()
    assert w.timeline_model.final_events() == shown and len(shown) == 6
    assert w.replay_bar.title.text().startswith("Replayed <b>demo-session.flac")


def test_a_replay_without_speech_says_why_and_replays_more_sensitively(make_window, qtbot, tmp_path):
    import soundfile as sf

    speech = load_audio(CLIPS / "NEU.wav", 16000)
    noise = np.random.default_rng(0).standard_normal(speech.size).astype(np.float32)
    soft = tmp_path / "soft.wav"  # speech only ~10 dB over a steady hiss
    sf.write(soft, 0.06 * speech / np.abs(speech).max() + 0.01 * noise, 16000)
    w = make_window()
    w.open_recording(soft)
    wait_replay_done(qtbot, w)
    text = w.banner.text.text()
    assert w.banner.isVisible() and text.startswith("<b>No speech found</b> in soft.wav: the loudest moment is ")
    excess = int(text.split("the loudest moment is ")[1].split(" dB")[0])  # what the hiss leaves the speech
    assert 8 <= excess < 12 and "dB above the background noise, speech must stay 12 dB above" in text
    assert "<i>Sensitivity</i> further right is a lower threshold." in text
    replay = [b for b in w.banner.buttons if not b.isHidden()]
    assert [b.text() for b in replay] == ["Replay"] and w.timeline_model.final_events() == []
    assert w.now_panel.no_speech and w.now_panel.detail_label.text() == "no speech in this recording"
    w.sensitivity.slider.setValue(80)  # 6 dB: the speech peaks about 10 dB over the hiss
    replay[0].click()
    wait_replay_done(qtbot, w)
    assert len(w.timeline_model.final_events()) == 1 and not w.banner.isVisible() and not w.now_panel.no_speech


def test_level_meter_and_speech_indicator_follow_audio(make_window, qtbot):
    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "HAP.wav")
    qtbot.waitUntil(lambda: w.now_panel.speaking, timeout=5000)
    qtbot.waitUntil(lambda: w.now_panel.level_meter.value() > 200, timeout=5000)  # louder than -40 dBFS
    wait_replay_done(qtbot, w)
    assert not w.now_panel.speaking
    assert np.isfinite(w.envelope.end_time)


def test_live_microphone_start_stop_and_device_switching(make_window, qtbot, pulse):
    """Real capture through the PulseAudio virtual microphone, then switching device in the picker."""
    w = make_window()
    names = w.device_picker.refresh()
    assert "pulse" in names and "default" in names
    assert w.device_picker.select("pulse")
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w, Qt.Key.Key_Space)  # Space = start listening on the chosen device
    qtbot.waitUntil(lambda: w.engine.running and w.mode == "microphone", timeout=5000)
    assert w.engine.info.name == "pulse" and "pulse" in w.status_source.text()
    assert w.windowTitle() == "pulse — realtime-ser"
    player = pulse.play(CLIPS / "ANG.wav")
    assert player.wait(timeout=20) == 0
    qtbot.waitUntil(lambda: len(w.timeline_model.final_events()) >= 1, timeout=8000)
    assert w.envelope.update_display()[1].max() > 0.05  # the clip is in the waveform
    assert w.settings.device == "pulse"
    first_pipeline = w.engine.pipeline
    # Choose another input: listening restarts on it, and the choice is remembered.
    index = w.device_picker.findData("default")
    w.device_picker.setCurrentIndex(index)
    w.device_picker.activated.emit(index)
    qtbot.waitUntil(lambda: w.engine.pipeline is not first_pipeline and w.engine.running, timeout=5000)
    assert w.engine.info.name == "default" and w.settings.device == "default"
    assert not first_pipeline.running
    qtbot.waitUntil(lambda: w.envelope.end_time > 0.3, timeout=5000)  # audio flows from the new device
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    assert w.start_action.text() == "Start" and w.mode == "idle"
    assert w.windowTitle() == "Live speech emotion — realtime-ser"  # it kept naming the stopped input


def test_system_audio_is_an_input_choice(make_window, qtbot, pulse):
    """*System audio* (what the computer plays: a call's other side) in the picker, listened to and remembered."""
    from realtime_ser.audio.system_audio import SYSTEM_AUDIO_NAME

    w = make_window()
    assert SYSTEM_AUDIO_NAME in w.device_picker.refresh()
    assert w.device_picker.select(SYSTEM_AUDIO_NAME)
    w.start_microphone()
    qtbot.waitUntil(lambda: w.engine.running and w.mode == "microphone", timeout=5000)
    assert w.engine.info.name == SYSTEM_AUDIO_NAME and w.settings.device == SYSTEM_AUDIO_NAME
    qtbot.wait(4500)  # nothing plays yet: digital silence, which is no fault of a monitor
    assert w.now_panel.input_warning.isHidden()
    assert pulse.play(CLIPS / "ANG.wav").wait(timeout=20) == 0
    qtbot.waitUntil(lambda: len(w.timeline_model.final_events()) >= 1, timeout=8000)
    w.stop()
    qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)


def test_one_input_of_a_two_channel_device(make_window, qtbot, pulse, settings, tmp_path):
    """An input with two microphones (an interview): the channel picker appears for it, listens to the
    chosen one alone, keeps the choice per device, and hides for a one-channel microphone."""
    import soundfile as sf

    speech = load_audio(DEMO, 16000)[: 4 * 16000]  # the demo's first utterance
    right_only = tmp_path / "right-only.wav"
    sf.write(right_only, np.stack([np.zeros_like(speech), speech], axis=1), 16000)
    with pulse.stereo_input("interview", "Interview-Mics"):
        w = make_window()
        w.device_picker.refresh()
        assert w.device_picker.findText("VirtualMic") >= 0  # the server's inputs by their own names
        index = w.device_picker.findData("pulse:interview")
        assert w.device_picker.itemText(index) == "Interview-Mics"
        w.device_picker.setCurrentIndex(index)
        w.device_picker.activated.emit(index)
        assert w.channel_action.isVisible()
        assert [w.channel_picker.itemText(i) for i in range(w.channel_picker.count())] == [
            "All channels (mixed)", "Channel 1 (left)", "Channel 2 (right)"]
        w.channel_picker.setCurrentIndex(2)
        w.channel_picker.activated.emit(2)
        assert settings.device_channel("pulse:interview") == 2
        assert w.start_microphone()
        qtbot.waitUntil(lambda: w.engine.running and w.envelope.end_time > 0.3, timeout=5000)
        assert w.status_source.text() == "microphone: Interview-Mics (channel 2)"
        assert pulse.play(right_only, sink="interview-out").wait(timeout=20) == 0
        qtbot.waitUntil(lambda: len(w.timeline_model.final_events()) == 1, timeout=8000)

        # The other microphone, chosen while listening: listening goes on there, where nobody speaks.
        first = w.engine.pipeline
        w.channel_picker.setCurrentIndex(1)
        w.channel_picker.activated.emit(1)
        qtbot.waitUntil(lambda: w.engine.pipeline is not first and w.engine.running, timeout=5000)
        assert w.engine.info.channel == 1 and settings.device_channel("pulse:interview") == 1
        qtbot.waitUntil(lambda: w.envelope.end_time > 0.3, timeout=5000)
        assert pulse.play(right_only, sink="interview-out").wait(timeout=20) == 0
        qtbot.wait(1500)
        assert w.timeline_model.final_events() == []
        w.stop()
        qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)

        # A one-channel microphone offers no choice; coming back, the device's channel is there again.
        index = w.device_picker.findData("pulse:vmic")
        w.device_picker.setCurrentIndex(index)
        w.device_picker.activated.emit(index)
        assert not w.channel_action.isVisible()
        again = make_window()
        assert again.device_picker.currentData() == "pulse:vmic" and not again.channel_action.isVisible()
        index = again.device_picker.findData("pulse:interview")
        again.device_picker.setCurrentIndex(index)
        again.device_picker.activated.emit(index)
        assert again.channel_action.isVisible() and again.channel_picker.channel == 1
        w.close()
        again.close()


def test_dark_system_palette_gives_dark_plots(make_window, qtbot):
    from PySide6.QtGui import QColor, QPalette

    app = QApplication.instance()
    saved = app.palette()
    dark = QPalette(saved)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#E8EAED"))
    app.setPalette(dark)
    try:
        w = make_window()
        assert w.dark
        assert w.waveform.backgroundBrush().color().lightness() < 64
        assert w.timeline.plot.backgroundBrush().color().lightness() < 64
    finally:
        app.setPalette(saved)
    w.apply_theme(False)
    assert w.spectrogram.backgroundBrush().color().lightness() > 200


def test_session_summary_adds_up_final_results(make_window, qtbot):
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    finals = w.timeline_model.final_events()
    text = w.now_panel.summary_label.text()
    assert text.startswith(f"{len(finals)} utterances")
    speech = sum(e.end - e.start for e in finals)
    assert f"{speech:.1f} s of speech" in text
    for label in {e.label for e in finals}:
        assert label in text


def test_session_folder_replays_like_a_recording(make_window, qtbot):
    from realtime_ser.session.reader import Session

    w = make_window(realtime_replay=True)
    w.open_recording(CLIPS / "HAP.wav")
    w.record_action.trigger()
    folder = w.engine.recorder.folder
    wait_replay_done(qtbot, w)
    recorded = Session.open(folder).final_emotions
    w.realtime_replay = False
    assert w.open_recording(folder)  # the folder itself, as Open recording accepts it
    assert w.engine.info.kind == "session" and w._export_stem() == f"{folder.name}-emotions"
    wait_replay_done(qtbot, w)
    assert [e.label for e in w.timeline_model.final_events()] == [e.label for e in recorded]
    assert w.open_recording(folder / "manifest.json")  # or its manifest: the same session
    assert w.engine.info.session_folder == folder and w._export_stem() == f"{folder.name}-emotions"
    wait_replay_done(qtbot, w)


def test_interrupted_session_is_repaired_on_start(make_window, tmp_path):
    import signal
    import subprocess
    import sys

    from realtime_ser.session.reader import Session

    sessions = tmp_path / "sessions"
    script = (
        "import os, signal, sys, time, numpy as np\n"
        "from realtime_ser.session.recorder import SessionRecorder\n"
        "rec = SessionRecorder(sys.argv[1], 16000, 'test mic', flush_interval=0.1)\n"
        "folder = rec.start()\n"
        "for i in range(50): rec.write_audio(np.full(320, 0.1, np.float32), i * 0.02)\n"
        "time.sleep(1.0)\n"
        "print(folder, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(sessions)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    folder = Path(proc.stdout.strip())
    assert Session.open(folder).interrupted
    w = make_window(sessions_dir=sessions)
    assert w.recovered_sessions == [folder]
    assert w.banner.isVisible() and "Recovered 1 interrupted recording" in w.banner.text.text()
    session = Session.open(folder)
    assert not session.interrupted and session.duration == pytest.approx(1.0, abs=0.05)


def _wheel(widget, pos, delta_y: int) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta_y),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(widget, event)


def test_timeline_zoom_stops_following_and_end_resumes(make_window, qtbot):
    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    plot = w.timeline.plot
    vb = plot.getViewBox()
    assert w.timeline.following and vb.viewRange()[0][1] - vb.viewRange()[0][0] == pytest.approx(60.0)
    center = vb.mapViewToDevice(vb.mapToView(vb.rect().center())).toPoint()
    _wheel(plot.viewport(), center, 240)  # zoom in with the mouse wheel
    qtbot.waitUntil(lambda: not w.timeline.following)
    width = vb.viewRange()[0][1] - vb.viewRange()[0][0]
    assert width < 60.0 and w.timeline.follow_button.isEnabled()
    w.tick()  # new frames no longer move the user's view
    assert vb.viewRange()[0][1] - vb.viewRange()[0][0] == pytest.approx(width)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.keyClick(w, Qt.Key.Key_End)
    assert w.timeline.following and not w.timeline.follow_button.isEnabled()
    assert vb.viewRange()[0][1] - vb.viewRange()[0][0] == pytest.approx(60.0)


def test_hovering_a_band_shows_its_tooltip(make_window, qtbot):
    from PySide6.QtWidgets import QToolTip

    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    utt = w.timeline_model.utterances[1]
    vb = w.timeline.plot.getViewBox()
    from PySide6.QtCore import QPointF

    scene_pos = vb.mapViewToScene(QPointF((utt.start + utt.end) / 2, 0.1))
    view_pos = w.timeline.plot.mapFromScene(scene_pos)
    qtbot.mouseMove(w.timeline.plot.viewport(), view_pos)
    qtbot.waitUntil(QToolTip.isVisible, timeout=3000)
    assert f"Utterance {utt.utterance_id}" in QToolTip.text()
    assert utt.emotion.label in QToolTip.text()


def test_audible_replay_plays_on_the_default_output(make_window, qtbot, pulse):
    w = make_window(realtime_replay=True)
    w.replay_bar.audible.setChecked(True)
    w.open_recording(CLIPS / "NEU.wav")
    assert w.engine.player is not None and w.engine.player.stream.active
    wait_replay_done(qtbot, w)
    assert w.engine.player is None  # closed with the replay
    assert w.settings.audible_replay


@pytest.mark.parametrize("fmt,subtype", [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_recordings_replay_through_the_same_pipeline(make_window, qtbot, model, tmp_path, fmt, subtype):
    import soundfile as sf

    audio = load_audio(DEMO, 16000)[: 16000 * 12]  # the first four clips
    path = tmp_path / f"demo.{fmt.lower()}"
    sf.write(path, audio, 16000, format=fmt, subtype=subtype)
    reference = [e for e in analyze_file(path, model) if isinstance(e, EmotionEvent) and e.final]
    w = make_window()
    assert w.open_recording(path)
    wait_replay_done(qtbot, w)
    assert len(reference) >= 3
    assert [(e.label, round(e.start, 3)) for e in w.timeline_model.final_events()] == \
        [(e.label, round(e.start, 3)) for e in reference]


def _double_click_band(qtbot, w, utt):
    from PySide6.QtCore import QPointF

    vb = w.timeline.plot.getViewBox()
    scene_pos = vb.mapViewToScene(QPointF((utt.start + utt.end) / 2, 0.05))
    pos = w.timeline.plot.mapFromScene(scene_pos)
    viewport = w.timeline.plot.viewport()
    # what a real double click delivers: press, release, double-click, release (pyqtgraph reports it on the last)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=pos)


def test_double_clicking_a_band_plays_that_utterance(make_window, qtbot, pulse):
    import time

    from realtime_ser.gui.playback import clip_playing

    w = make_window()
    w.open_recording(DEMO)
    wait_replay_done(qtbot, w)
    assert "Double-click to hear it" in w.timeline.tooltip_text(w.timeline_model.utterances[0].start + 0.1)
    utt = w.timeline_model.utterances[2]
    w.timeline.set_following(False)
    w.timeline.plot.setXRange(utt.start - 2, utt.end + 2, padding=0)
    _double_click_band(qtbot, w, utt)
    started = time.monotonic()
    assert f"Playing utterance {utt.utterance_id}" in w.statusBar().currentMessage()
    assert clip_playing()
    qtbot.waitUntil(lambda: not clip_playing(), timeout=int((utt.end - utt.start + 5) * 1000))
    # played in real time on the (virtual) output, so it lasted about as long as the utterance
    assert time.monotonic() - started > 0.8 * (utt.end - utt.start)


def test_playing_an_utterance_pauses_a_running_replay(make_window, qtbot, pulse):
    from realtime_ser.gui.playback import clip_playing

    w = make_window(realtime_replay=True)
    w.replay_bar.audible.setChecked(True)
    w.open_recording(DEMO)
    assert w.engine.player is not None
    qtbot.waitUntil(lambda: any(u.final for u in w.timeline_model.utterances), timeout=15000)
    w.play_utterance(w.timeline_model.utterances[0].utterance_id)
    assert w.replay_bar.pause_button.isChecked() and w.engine.source.paused
    assert w.engine.player is None and clip_playing()  # the clip has the output to itself
    at = w.replay_position()
    qtbot.wait(400)
    assert w.replay_position() - at < 0.05
    w.replay_bar.pause_button.setChecked(False)  # resuming: the clip stops, the replay is heard again
    assert not clip_playing() and w.engine.player is not None and w.engine.player.stream.active
    qtbot.waitUntil(lambda: w.replay_position() > at + 0.2, timeout=3000)


def test_playing_needs_a_replayed_recording(make_window):
    w = make_window()
    w.play_utterance(1)
    assert "replayed recordings" in w.statusBar().currentMessage()


def test_an_input_unplugged_and_plugged_back_while_recording(make_window, qtbot, pulse, caplog):
    """The microphone pulled out while a session is recorded: the banner says so without a Retry (it
    restarted the microphone: the recording was cut in two, or ended and the demo played); the names
    shown follow the stand-in input, and once the microphone is back the banner goes (it stayed).
    The log file tells the story (it said nothing)."""
    import json
    import logging

    caplog.set_level(logging.INFO, logger="realtime_ser.gui")  # what the app's log file keeps

    with pulse.stereo_input("interview", "Interview-Mics"):
        w = make_window()
        w.device_picker.refresh()
        assert w.start_microphone("pulse:interview")
        w.record_action.trigger()
        folder = w.engine.recorder.folder
        qtbot.waitUntil(lambda: w.envelope.end_time > 0.5, timeout=5000)
    # unplugged: lost, then the default input stands in
    qtbot.waitUntil(lambda: "Input lost" in w.banner.text.text() or "Input changed" in w.banner.text.text(),
                    timeout=8000)
    assert [b for b in w.banner.buttons if b.isVisibleTo(w.banner)] == []
    qtbot.waitUntil(lambda: "Input changed" in w.banner.text.text(), timeout=8000)
    assert "now listening to default" in w.banner.text.text()
    assert w.status_source.text() == "microphone: default" and "default" in w.windowTitle()
    with pulse.stereo_input("interview", "Interview-Mics"):  # plugged back in
        qtbot.waitUntil(lambda: w.status_source.text() == "microphone: Interview-Mics", timeout=8000)
        assert w.banner.isHidden() and w.engine.recorder is not None and w.engine.recorder.folder == folder
        assert "Interview-Mics" in w.windowTitle()
        w.record_action.trigger()
        w.stop()
        qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete", manifest  # one session, through the time away
    logged = [r.getMessage() for r in caplog.records if r.name == "realtime_ser.gui"]
    assert any("'Interview-Mics' stopped delivering audio" in m for m in logged), logged
    assert "audio device back: Interview-Mics" in logged, logged


def test_the_saved_input_not_connected_at_start_is_said_and_kept(make_window, qtbot, pulse, settings):
    """The microphone chosen last time is not plugged in when the app starts: it listened to the
    default input without a word and saved that as the choice, so the microphone was not used again
    once plugged in. Now the banner says so, the choice is kept, and it is used once it is back."""
    settings.device = "pulse:interview"
    w = make_window()
    assert w.start_microphone()  # as the app starts
    qtbot.waitUntil(lambda: w.engine.running, timeout=5000)
    assert w.status_source.text() == "microphone: default"
    assert "<b>pulse:interview</b> is not connected: listening to default instead" in w.banner.text.text()
    assert settings.device == "pulse:interview"
    w.stop()
    with pulse.stereo_input("interview", "Interview-Mics"):  # plugged in
        assert w.start_microphone()
        qtbot.waitUntil(lambda: w.engine.running, timeout=5000)
        assert w.status_source.text() == "microphone: Interview-Mics" and w.banner.isHidden()
        assert w.device_picker.currentData() == "pulse:interview" and settings.device == "pulse:interview"
        w.stop()
        qtbot.waitUntil(lambda: not w.engine.running, timeout=5000)
    # a choice made in the list replaces the one that was not connected
    index = w.device_picker.findData("default")
    w.device_picker.setCurrentIndex(index)
    w.device_picker.activated.emit(index)
    assert settings.device == "default" and w.device_picker.missing is None
