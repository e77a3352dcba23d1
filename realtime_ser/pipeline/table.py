"""The timeline as a table: the CSV columns that ``analyze`` writes and the app exports.

One definition, so that a script or spreadsheet reading one reads the other (the app's export
had ``start_s``/``end_s`` and no ``file`` or ``final`` column).
"""

from __future__ import annotations

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
