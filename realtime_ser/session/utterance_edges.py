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
  latest partial; none if it was too short to have one).

Pure bookkeeping on dicts, no I/O: the recorder's writer thread is its only user.
"""

from __future__ import annotations


class UtteranceEdges:
    def __init__(self) -> None:
        self._open: dict[int, dict | None] = {}  # utterance id -> its latest partial result (or None)
        self._closed: set[int] = set()

    def lines(self, data: dict) -> list[dict]:
        """The line(s) to write for ``data``: itself, after a ``start`` at 0 if its utterance
        began before the recording, with times clamped to the recording."""
        kind = data.get("type")
        uid = data.get("utterance_id")
        if kind not in ("speech", "emotion") or not isinstance(uid, int) or isinstance(uid, bool):
            return [data]
        for key in ("time", "start", "end"):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                data[key] = 0.0
        out = []
        if kind == "speech" and data.get("kind") == "start":
            self._open[uid] = None
            self._closed.discard(uid)
        elif uid not in self._open and uid not in self._closed:  # began before the recording
            out.append({"kind": "start", "time": 0.0, "utterance_id": uid, "type": "speech"})
            self._open[uid] = None
        if data.get("kind") == "end" or data.get("final"):  # the pipeline sends the end first
            self._open.pop(uid, None)
            self._closed.add(uid)
        elif kind == "emotion" and uid in self._open and not data.get("final"):
            self._open[uid] = data
        out.append(data)
        return out

    def close(self, end_time: float) -> list[dict]:
        """Lines ending the utterances still open when the recording ends at ``end_time`` s."""
        out = []
        for uid, partial in self._open.items():
            out.append({"kind": "end", "time": round(end_time, 6), "utterance_id": uid, "type": "speech"})
            if partial is not None:
                out.append(dict(partial, end=round(max(end_time, partial["start"]), 6), final=True))
            self._closed.add(uid)
        self._open.clear()
        return out
