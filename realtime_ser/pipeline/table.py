"""The timeline as ``analyze`` writes it and the app exports it: CSV columns and JSON shape.

One definition, so that a script or spreadsheet reading one reads the other (the app's export
had ``start_s``/``end_s`` and no ``file`` or ``final`` column, and JSON of another shape).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

#: The columns before the class probabilities (``p_LABEL`` in the model's order) and ``note``.
CSV_FIELDS = ["file", "utterance_id", "start", "end", "label", "top_label", "confidence", "final"]


def csv_header(labels: Sequence[str]) -> list[str]:
    # "note" (a marker's) goes last, so that the earlier columns keep their places
    return CSV_FIELDS + [f"p_{label}" for label in labels] + ["note"]


def csv_row(source: str, event: dict, labels: Sequence[str]) -> list | None:
    """The row of an emotion result or a marker, given as ``to_dict()`` gives them (a marker: its
    time as start and end, label ``marker``, its text as ``note``); None for any other event."""
    kind = event.get("type")
    if kind == "marker":
        t = f"{event['time']:.3f}"
        return [source, "", t, t, "marker", "", "", ""] + [""] * len(labels) + [event.get("note", "")]
    if kind != "emotion":
        return None
    probabilities = event["probabilities"]
    return ([source, event["utterance_id"], f"{event['start']:.3f}", f"{event['end']:.3f}", event["label"],
             event["top_label"], f"{event['confidence']:.4f}", int(event["final"])]
            + [f"{probabilities.get(label, 0.0):.4f}" for label in labels] + [""])


def merge_markers(events: list[dict], markers: list[dict]) -> list[dict]:
    """``events`` (an analysis, in order) with ``markers`` (sorted) put where they happened.

    An event counts at the stream time it was emitted (an emotion result at its
    utterance's end), as in ``listen --output``; the analysis keeps its own order.
    """
    merged: list[dict] = []
    pending = list(markers)
    for ev in events:
        t = ev.get("time", ev.get("end"))
        while pending and isinstance(t, (int, float)) and pending[0]["time"] < t:
            merged.append(pending.pop(0))
        merged.append(ev)
    return merged + pending


def timeline_csv(timelines: Sequence[tuple[str, list[dict]]], labels: Sequence[str]) -> str:
    """One row per emotion result or marker of each (input name, events) pair, in order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_header(labels))
    for name, events in timelines:
        for event in events:
            row = csv_row(name, event, labels)
            if row is not None:
                writer.writerow(row)
    return buf.getvalue()


def timeline_json(entries: list[dict]) -> str:
    """A list with one object per input: ``{"file": name, "events": [...]}`` (or ``"error"``)."""
    return json.dumps(entries, indent=1) + "\n"
