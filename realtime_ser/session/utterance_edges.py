"""Whole utterances in a session's event log, when Record is pressed or released mid-sentence.

The pipeline keeps listening while a recording starts and stops, so an utterance can begin
before the recording (its times would be negative, its start never logged) or still be open
when the recording ends (a start, partial results, no end and no final result: the session's
summary would leave it out).  :class:`UtteranceEdges` sees each event line (a dict, times
already from the recording's first sample) before it is written and returns the lines to write,
so the log always reads start, partials, end, final for every utterance it mentions:

* an utterance that began before the recording is cut at its first sample: a ``start`` at 0 is
  written before its first line, and no time of it is negative;
* one still open when the recording ends is cut at the recording's end: :meth:`close` gives its
  ``end`` there and, as its final result, the last estimate the live view showed for it (its
  latest partial; none if it was too short to have one);
* one whose ``end`` was written but not its final result (the recorder killed between the two
  lines, or a full disk that took the second) gets that last estimate as its final result too:
  an ``end`` alone does not close an utterance, or its result would be lost for good.

Pure bookkeeping on dicts, no I/O: the recorder's writer thread uses it as it writes, and repair
(:mod:`realtime_ser.session.repair`) on the log a killed recorder left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class UtteranceEdges:
    def __init__(self) -> None:
        self._open: dict[int, dict | None] = {}  # utterance id -> its latest partial result (or None)
        self._started: dict[int, float] = {}  # utterance id -> its start time, while open
        self._ended: dict[int, float] = {}  # open utterances whose end is written: its time
        self._closed: set[int] = set()

    def lines(self, data: dict) -> list[dict]:
        """The line(s) to write for ``data``: itself, after a ``start`` at 0 if its utterance
        began before the recording, with times clamped to the recording."""
        kind = data.get("type")
        uid = data.get("utterance_id")
        if kind not in ("speech", "emotion") or not isinstance(uid, int) or isinstance(uid, bool):
            return [data]
        began_before = False
        for key in ("time", "start", "end"):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                data[key] = 0.0
                began_before = True
        out = []
        if kind == "speech" and data.get("kind") == "start":
            self._open[uid] = None
            self._started[uid] = data.get("time", 0.0)
            self._ended.pop(uid, None)
            self._closed.discard(uid)
        elif uid not in self._open and uid not in self._closed and (began_before or kind == "speech"):
            # an utterance that began before the recording: its times reach back before it, or its end
            # comes with no start (the pipeline always sends the start first)
            out.append({"kind": "start", "time": 0.0, "utterance_id": uid, "type": "speech"})
            self._open[uid] = None
            self._started[uid] = 0.0
        if data.get("final"):  # the pipeline sends the end first, then the final result
            self._open.pop(uid, None)
            self._started.pop(uid, None)
            self._ended.pop(uid, None)
            self._closed.add(uid)
        elif data.get("kind") == "end" and uid in self._open:
            self._ended[uid] = data.get("time", 0.0)
        elif kind == "emotion" and uid in self._open and not data.get("final"):
            self._open[uid] = data
        out.append(data)
        return out

    def close(self, end_time: float) -> list[dict]:
        """Lines ending the utterances still open when the recording ends at ``end_time`` s (never
        before an utterance's own start: a killed recorder's log can run ahead of its audio)."""
        out = []
        for uid, partial in self._open.items():
            if uid in self._ended:  # its end is written already: only the result is missing
                end = self._ended[uid]
            else:
                end = round(max(end_time, self._started.get(uid, 0.0), partial["start"] if partial else 0.0), 6)
                out.append({"kind": "end", "time": end, "utterance_id": uid, "type": "speech"})
            if partial is not None:
                out.append(dict(partial, end=end, final=True))
            self._closed.add(uid)
        self._open.clear()
        self._started.clear()
        self._ended.clear()
        return out


def closing_lines(events, end_time: float) -> list[dict]:
    """The lines that would end the utterances ``events`` (a log's, in order) leave open, at ``end_time``
    s with their last estimate (pure function)."""
    if not _may_leave_open(events):  # the common case, read on every Session.open: no dicts made
        return []
    edges = UtteranceEdges()
    for event in events:
        edges.lines(event.to_dict())
    return edges.close(end_time)


def _may_leave_open(events) -> bool:
    """False when every utterance in ``events`` has its final result (its last word), so that
    :class:`UtteranceEdges` would close none; True when one might be left open."""
    closed: dict[int, bool] = {}
    for event in events:
        kind = getattr(event, "type", None)
        if kind not in ("speech", "emotion"):
            continue
        uid = event.utterance_id
        if getattr(event, "final", False):
            closed[uid] = True
        elif getattr(event, "kind", None) in ("start", "end"):  # an end waits for its final result
            closed[uid] = False
        else:  # a partial result: opens an utterance only if nothing was heard of it before
            closed.setdefault(uid, False)
    return not all(closed.values())


def end_cut_off_utterances(events_path: Path, end_time: float) -> list[int]:
    """Append to a finished event log the lines ending the utterances left open in it (a start, no
    end: a recorder killed, or stopped by a full disk), at ``end_time`` (the audio kept) with their
    last estimate, as a recording stopped mid-utterance ends them. Returns their ids; raises OSError."""
    from realtime_ser.session.reader import parse_event_lines

    with open(events_path, "rb") as f:
        events, _ = parse_event_lines(f, str(events_path))
    closing = closing_lines(events, end_time)
    if closing:
        with open(events_path, "ab") as f:
            f.write(b"".join(json.dumps(d, separators=(",", ":")).encode() + b"\n" for d in closing))
            f.flush()
            os.fsync(f.fileno())
    return sorted({d["utterance_id"] for d in closing})
