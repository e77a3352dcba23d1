"""The utterance history behind the timeline (no Qt): ordering, partial/final, seeking back, lookup."""

from realtime_ser.gui.timeline_model import TimelineModel, describe, format_time
from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent

LABELS = ["neutral", "happy", "sad"]


def emotion(uid, start, end, label, conf, final):
    probs = {lab: (conf if lab == label else (1 - conf) / 2) for lab in LABELS}
    top = label if label != "uncertain" else "sad"
    return EmotionEvent(uid, start, end, label, top, conf, probs, final)


def test_partials_are_replaced_and_a_late_partial_never_replaces_the_final():
    m = TimelineModel()
    m.add_speech(SpeechEvent("start", 1.0, 1))
    assert m.get(1).end is None and m.open_utterances()[0].utterance_id == 1
    m.add_emotion(emotion(1, 1.0, 1.5, "happy", 0.6, False))
    m.add_emotion(emotion(1, 1.0, 2.0, "sad", 0.7, False))
    assert m.get(1).emotion.label == "sad" and not m.get(1).final
    m.add_speech(SpeechEvent("end", 2.4, 1))
    m.add_emotion(emotion(1, 0.8, 2.4, "neutral", 0.8, True))
    m.add_emotion(emotion(1, 1.0, 2.4, "happy", 0.9, False))  # arrives late
    assert m.get(1).emotion.label == "neutral" and m.get(1).final and m.get(1).end == 2.4
    assert [e.label for e in m.final_events()] == ["neutral"]
    assert m.take_dirty() == [1] and m.take_dirty() == []


def test_lookup_by_time_and_seek_back_drops_later_results():
    m = TimelineModel()
    for uid, start in enumerate([1.0, 5.0, 9.0], start=1):
        m.add_speech(SpeechEvent("start", start, uid))
        m.add_emotion(emotion(uid, start, start + 2.0, "happy", 0.7, True))
    assert m.at(6.0, now=20.0).utterance_id == 2
    assert m.at(4.0, now=20.0) is None
    assert m.at(3.05, now=20.0, slack=0.1).utterance_id == 1
    assert [u.utterance_id for u in m.between(4.0, 8.0)] == [2]
    m.take_dirty()
    m.drop_from(5.0)
    assert [u.utterance_id for u in m.utterances] == [1]
    assert m.take_dirty() == [2, 3] and m.get(2) is None


def test_relabelling_under_another_threshold_changes_only_the_labels_it_must():
    m = TimelineModel()
    for uid, (label, conf) in enumerate([("happy", 0.7), ("uncertain", 0.35), ("neutral", 0.5)], start=1):
        m.add_speech(SpeechEvent("start", uid * 4.0, uid))
        m.add_emotion(emotion(uid, uid * 4.0, uid * 4.0 + 2.0, label, conf, True))
    m.add_speech(SpeechEvent("start", 20.0, 4))  # no estimate yet
    m.take_dirty()
    unchanged = m.get(1).emotion
    assert m.relabel(0.6) == 1  # 0.5 is now below it
    assert [u.emotion.label for u in m.utterances[:3]] == ["happy", "uncertain", "uncertain"]
    assert m.get(1).emotion is unchanged and m.take_dirty() == [3]
    assert m.relabel(0.3) == 2  # above it: the top label
    assert [e.label for e in m.final_events()] == ["happy", "sad", "neutral"] and m.take_dirty() == [2, 3]
    assert m.get(2).emotion.probabilities == emotion(2, 8.0, 10.0, "uncertain", 0.35, True).probabilities


def test_tooltip_text_names_state_and_every_probability():
    m = TimelineModel()
    m.add_speech(SpeechEvent("start", 61.0, 7))
    assert "listening" in describe(m.get(7), LABELS, now=62.0)
    m.add_emotion(emotion(7, 61.0, 63.5, "uncertain", 0.35, True))
    text = describe(m.get(7), LABELS, now=70.0)
    assert "Utterance 7: 1:01.0 – 1:03.5 (2.5 s)" in text
    assert "uncertain (best guess sad, 35%) [final]" in text
    for lab in LABELS:
        assert lab in text
    probs = {"neutral": 0.3002, "happy": 0.3001, "sad": 0.3997}  # under a 40% threshold: reads under it
    m.add_emotion(EmotionEvent(7, 61.0, 63.5, "uncertain", "sad", 0.3997, probs, True))
    text = describe(m.get(7), LABELS, now=70.0)
    assert "uncertain (best guess sad, 39%) [final]" in text
    assert text.endswith("\n  neutral     30.0%\n  happy       30.0%\n  sad         39.9%")
    assert format_time(125.25) == "2:05.2"


def test_the_result_of_an_utterance_a_seek_back_dropped_is_stale_when_it_arrives():
    """Seeking back while someone speaks: the pipeline closes the utterance it cut and sends its
    final result, which the window may see after it dropped that utterance; it must stay dropped."""
    m = TimelineModel()
    m.add_speech(SpeechEvent("start", 0.5, 1))
    m.add_emotion(emotion(1, 0.5, 1.5, "happy", 0.7, True))
    assert m.add_speech(SpeechEvent("start", 2.0, 2)) and m.add_emotion(emotion(2, 2.0, 2.5, "sad", 0.6, False))
    m.drop_from(1.0)  # back to 1.0 s while utterance 2 is still open
    assert not m.add_emotion(emotion(2, 2.0, 3.0, "sad", 0.6, True))  # its final result, cut at 3.0 s
    assert not m.add_speech(SpeechEvent("end", 3.0, 2))
    assert [u.utterance_id for u in m.utterances] == [1] and m.last_utterance_id == 2
    assert m.add_speech(SpeechEvent("start", 2.1, 3)) and m.add_emotion(emotion(3, 2.1, 3.2, "sad", 0.8, True))
    assert [(u.utterance_id, u.start) for u in m.utterances] == [(1, 0.5), (3, 2.1)]
    m.clear()
    assert m.last_utterance_id == 0 and m.add_speech(SpeechEvent("start", 0.2, 2))  # a new source numbers afresh


def test_markers_stay_in_time_order_survive_a_seek_back_and_go_with_a_new_source():
    from realtime_ser.pipeline.events import MarkerEvent

    m = TimelineModel()
    assert m.next_marker_id() == 1
    m.add_emotion(emotion(1, 1.0, 2.0, "sad", 0.7, True))
    version = m.markers_version
    m.add_marker(MarkerEvent(1, 5.0, "late"))
    m.add_marker(MarkerEvent(2, 1.5))  # set at an earlier time (a replay seeked back)
    assert m.markers_version > version
    assert [k.marker_id for k in m.markers] == [2, 1] and m.next_marker_id() == 3
    assert [k.marker_id for k in m.markers_between(1.0, 4.0)] == [2]
    assert m.marker_at(4.9, slack=0.2).note == "late" and m.marker_at(3.0, slack=0.2) is None
    m.drop_from(1.0)  # results are recomputed after a seek; the user's marks are not results
    assert len(m) == 0 and len(m.markers) == 2
    m.clear()
    assert m.markers == [] and m.next_marker_id() == 1


def test_export_puts_markers_among_the_utterances(tmp_path):
    import csv
    import json

    from realtime_ser.gui.timeline_model import describe_marker, export_timeline
    from realtime_ser.pipeline.events import MarkerEvent

    finals = [emotion(1, 1.0, 2.0, "sad", 0.7, True), emotion(2, 4.0, 5.0, "happy", 0.8, True)]
    markers = [MarkerEvent(1, 3.0, 'says "no", then {laughs}'), MarkerEvent(2, 4.0)]
    rows = list(csv.DictReader(export_timeline(finals, LABELS, tmp_path / "t.csv", markers).open()))
    assert [(r["label"], r["utterance_id"], r["note"]) for r in rows] == [
        ("sad", "1", ""), ("marker", "", 'says "no", then {laughs}'), ("marker", "", ""), ("happy", "2", "")]
    assert rows[1]["start"] == rows[1]["end"] == "3.000" and rows[1]["p_sad"] == ""
    data = json.loads(export_timeline(finals, LABELS, tmp_path / "t.json", markers).read_text())
    # as analyze writes it: a result counts at its utterance's end, so marker 2 (4.0 s) comes before
    # the utterance of 4.0-5.0 s, in CSV and JSON alike
    assert [d["type"] for d in data[0]["events"]] == ["emotion", "marker", "marker", "emotion"]
    assert [MarkerEvent(**{k: v for k, v in d.items() if k != "type"})
            for d in data[0]["events"] if d["type"] == "marker"] == markers
    assert describe_marker(markers[0]) == 'Marker 1 at 0:03.0: says "no", then {laughs}'
    assert describe_marker(markers[1]) == "Marker 2 at 0:04.0"


def test_a_view_far_into_a_long_utterance_still_holds_it():
    """Utterances may last up to 60 s (Longest utterance): a view whose left edge lies more than
    30 s after one's start, inside it, left its band undrawn though hovering there described it."""
    m = TimelineModel()
    m.add_speech(SpeechEvent("start", 5.0, 1))
    m.add_speech(SpeechEvent("end", 41.0, 1))
    m.add_speech(SpeechEvent("start", 41.8, 2))
    m.add_speech(SpeechEvent("end", 54.4, 2))
    assert [u.utterance_id for u in m.between(37.5, 47.5)] == [1, 2]
    assert [u.utterance_id for u in m.between(42.0, 47.5)] == [2]
    assert [u.utterance_id for u in m.between(100.0, 110.0)] == []
    m.add_speech(SpeechEvent("start", 60.0, 3))  # still open: it lasts until now, however long that is
    assert [u.utterance_id for u in m.between(130.0, 140.0)] == [3]
