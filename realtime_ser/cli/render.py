"""What ``analyze`` writes: the timeline (CSV, JSON, JSONL) or one summary row per input."""

from __future__ import annotations

import csv
import io
import json

from realtime_ser.pipeline.table import timeline_csv, timeline_json


def render_timeline(items, results: dict, failed: dict, fmt: str) -> str:
    """The analysis result as CSV (one row per emotion event or marker), JSON or JSONL."""
    # An input that failed part-way (a file cut short) has both: the events before, and its error.
    if fmt == "json":
        return timeline_json([
            {"file": name, **({"events": results.get(i, [])} if i in results or i not in failed else {}),
             **({"error": failed[i]} if i in failed else {})}
            for i, (name, _, _) in enumerate(items)])
    if fmt == "jsonl":
        buf = io.StringIO()
        for i, (name, _, _) in enumerate(items):
            for ev in results.get(i, []):
                buf.write(json.dumps({"file": name, **ev}) + "\n")
            if i in failed:
                buf.write(json.dumps({"file": name, "type": "error", "message": failed[i]}) + "\n")
        return buf.getvalue()
    timelines = [(name, results.get(i, [])) for i, (name, _, _) in enumerate(items)]
    return timeline_csv(timelines, _model_labels(results))


def _model_labels(results: dict) -> list[str]:
    """The model's classes, in its order (the keys of any result's probabilities)."""
    for rows in results.values():
        for ev in rows:
            if ev.get("type") == "emotion":
                return list(ev["probabilities"])
    return []


SUMMARY_FIELDS = ["file", "audio_s", "utterances", "speech_s", "markers"]


def render_summary(items, results: dict, durations: dict) -> str:
    """One CSV row per readable input: how long, how much speech, and the seconds of speech per
    final label (as the app's *This session* and ``sessions`` count them), largest shares last."""
    from realtime_ser.pipeline.events import UNCERTAIN, event_from_dict
    from realtime_ser.pipeline.summary import describe_shares, speech_time_by_label

    labels = _model_labels(results) + [UNCERTAIN]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_FIELDS + [f"{label}_s" for label in labels] + ["shares"])
    for i, (name, _, _) in enumerate(items):
        if i not in results:
            continue
        finals = [event_from_dict(ev) for ev in results[i] if ev.get("type") == "emotion" and ev["final"]]
        seconds = dict(speech_time_by_label(finals))
        markers = sum(ev.get("type") == "marker" for ev in results[i])
        writer.writerow([name, f"{durations.get(i, 0.0):.2f}", len(finals), f"{sum(seconds.values()):.2f}", markers]
                        + [f"{seconds.get(label, 0.0):.2f}" for label in labels] + [describe_shares(finals)])
    return buf.getvalue()
