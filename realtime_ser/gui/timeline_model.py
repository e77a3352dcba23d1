"""The session's utterance history behind the emotion timeline, and its export (Qt-free).

One :class:`Utterance` per VAD utterance, holding the newest emotion estimate
(partial results are replaced as they arrive; the final one stays).  Views ask
for the utterances that changed since they last drew, so a long session does not
cost more per frame than a short one.  The moments the user marked
(:class:`MarkerEvent`) are kept beside them; they are the user's, not results, so a
replay seeking backwards (which recomputes the results) keeps them.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from realtime_ser.atomic_file import write_text_atomic
from realtime_ser.errors import SerError
from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent, MarkerEvent, SpeechEvent
from realtime_ser.pipeline.smoothing import percent_shown, relabel
from realtime_ser.pipeline.table import merge_markers, timeline_csv, timeline_json
from realtime_ser.pipeline.summary import format_time


@dataclass
class Utterance:
    utterance_id: int
    start: float
    end: float | None = None  # None while the person is still speaking
    emotion: EmotionEvent | None = None

    @property
    def final(self) -> bool:
        return self.emotion is not None and self.emotion.final

    def end_or(self, now: float) -> float:
        return self.end if self.end is not None else max(now, self.start)


class TimelineModel:
    """Utterances in time order, updated from SpeechEvents and EmotionEvents."""

    def __init__(self) -> None:
        self._by_id: dict[int, Utterance] = {}
        self._order: list[Utterance] = []  # sorted by start (events arrive in time order)
        self._starts: list[float] = []
        self._dirty: set[int] = set()
        self._markers: list[MarkerEvent] = []  # sorted by time
        self._marker_times: list[float] = []
        self._last_marker_id = 0  # deleted ones included
        self._dropped: set[int] = set()  # utterances a seek back took away: their late events are stale
        self._last_utterance_id = 0  # dropped ones included
        self._longest = 0.0  # the longest ended utterance (s): how far back one may reach into a view
        #: Bumped whenever the markers change, so views redraw them only then.
        self.markers_version = 0

    def __len__(self) -> int:
        return len(self._order)

    @property
    def utterances(self) -> list[Utterance]:
        return list(self._order)

    def clear(self) -> None:
        self._dirty.update(self._by_id)
        self._by_id.clear()
        self._order.clear()
        self._starts.clear()
        self._markers.clear()
        self._marker_times.clear()
        self._last_marker_id = 0
        self._dropped.clear()
        self._last_utterance_id = 0
        self._longest = 0.0
        self.markers_version += 1

    # --- markers -----------------------------------------------------------------

    @property
    def markers(self) -> list[MarkerEvent]:
        return list(self._markers)

    def add_marker(self, marker: MarkerEvent) -> None:
        """A new marker, or a change of one (same ``marker_id``: a new note, or ``removed``)."""
        old = self.marker(marker.marker_id)
        if old is not None:
            i = self._markers.index(old)
            del self._markers[i], self._marker_times[i]
        if not marker.removed:
            i = bisect_right(self._marker_times, marker.time)
            self._marker_times.insert(i, marker.time)
            self._markers.insert(i, marker)
        self._last_marker_id = max(self._last_marker_id, marker.marker_id)
        self.markers_version += 1

    def reserve_marker_ids(self, last_marker_id: int) -> None:
        """Number new markers after ``last_marker_id``: the highest given to the recording before,
        deleted ones included (only the markers still shown are added)."""
        self._last_marker_id = max(self._last_marker_id, int(last_marker_id))

    def marker(self, marker_id: int) -> MarkerEvent | None:
        return next((m for m in self._markers if m.marker_id == marker_id), None)

    def next_marker_id(self) -> int:
        """Numbers are not reused after a deletion, so within a run a number means one moment."""
        return self._last_marker_id + 1

    def markers_between(self, left: float, right: float) -> list[MarkerEvent]:
        return self._markers[bisect_right(self._marker_times, left - 1e-9) : bisect_right(self._marker_times, right)]

    def marker_at(self, t: float, slack: float) -> MarkerEvent | None:
        """The marker nearest to stream time ``t``, if one lies within ``slack`` seconds."""
        near = self.markers_between(t - slack, t + slack)
        return min(near, key=lambda m: abs(m.time - t)) if near else None

    def _get(self, utterance_id: int, start: float) -> Utterance:
        utt = self._by_id.get(utterance_id)
        if utt is None:
            utt = Utterance(utterance_id, start)
            self._by_id[utterance_id] = utt
            i = bisect_right(self._starts, start)
            self._starts.insert(i, start)
            self._order.insert(i, utt)
        return utt

    def add_speech(self, event: SpeechEvent) -> bool:
        """Show an utterance's start or end; False if it was dropped by a seek back (stale)."""
        if event.utterance_id in self._dropped:
            return False
        utt = self._get(event.utterance_id, event.time)
        if event.kind == "end":
            self._set_end(utt, event.time)
        self._dirty.add(utt.utterance_id)
        self._last_utterance_id = max(self._last_utterance_id, event.utterance_id)
        return True

    def add_emotion(self, event: EmotionEvent) -> bool:
        """Show a result; False if it is not shown: its utterance was dropped by a seek back (the
        pipeline closes the utterance it cuts, and that result may arrive after the drop), or it is
        a partial arriving after the final result."""
        if event.utterance_id in self._dropped:
            return False
        utt = self._get(event.utterance_id, event.start)
        self._last_utterance_id = max(self._last_utterance_id, event.utterance_id)
        if utt.final and not event.final:
            return False  # a late partial never replaces the final result
        utt.emotion = event
        if event.final:
            self._set_end(utt, event.end)
        self._dirty.add(utt.utterance_id)
        return True

    def _set_end(self, utt: Utterance, end: float) -> None:
        utt.end = end
        self._longest = max(self._longest, end - utt.start)

    @property
    def last_utterance_id(self) -> int:
        """The highest utterance number shown so far, dropped ones included: a replay played again
        numbers its utterances after it, so no new one is taken for a dropped one."""
        return self._last_utterance_id

    def relabel(self, confidence_threshold: float) -> int:
        """Label every result as ``confidence_threshold`` would (its top label, or uncertain below it);
        returns how many changed."""
        changed = 0
        for utt in self._order:
            if utt.emotion is not None:
                event = relabel(utt.emotion, confidence_threshold)
                if event is not utt.emotion:
                    utt.emotion = event
                    self._dirty.add(utt.utterance_id)
                    changed += 1
        return changed

    def drop_from(self, t: float) -> None:
        """Forget utterances starting at or after ``t`` (a replay seeked backwards)."""
        i = bisect_right(self._starts, t - 1e-9)
        for utt in self._order[i:]:
            del self._by_id[utt.utterance_id]
            self._dirty.add(utt.utterance_id)
            self._dropped.add(utt.utterance_id)
        del self._order[i:]
        del self._starts[i:]

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def take_dirty(self) -> list[int]:
        """Ids changed since the last call (ids no longer present mean: removed)."""
        dirty = sorted(self._dirty)
        self._dirty.clear()
        return dirty

    def get(self, utterance_id: int) -> Utterance | None:
        return self._by_id.get(utterance_id)

    def recent(self, n: int) -> list[Utterance]:
        return self._order[-n:]

    def between(self, left: float, right: float) -> list[Utterance]:
        """Utterances that may overlap [left, right]: those starting in it or up to the longest
        utterance so far before it, and one still open however long ago it started (utterances may
        be as long as the settings allow, 60 s; a fixed 30 s reach left longer ones undrawn)."""
        i = bisect_right(self._starts, left - self._longest)
        j = bisect_right(self._starts, right)
        still_open = [u for u in self.open_utterances() if u.start < left - self._longest]
        return still_open + self._order[i:j]

    def open_utterances(self) -> list[Utterance]:
        return [u for u in self._order[-4:] if u.end is None]

    def at(self, t: float, now: float, slack: float = 0.0) -> Utterance | None:
        """The utterance covering stream time ``t`` (with ``slack`` seconds of tolerance)."""
        i = bisect_right(self._starts, t + slack)
        best = None
        for utt in reversed(self._order[max(0, i - 3) : i]):
            if utt.start - slack <= t <= utt.end_or(now) + slack:
                best = utt
                break
        return best

    def final_events(self) -> list[EmotionEvent]:
        return [u.emotion for u in self._order if u.final]


def describe(utt: Utterance, labels: list[str], now: float) -> str:
    """Tooltip text: time span, label and every class probability (plain text)."""
    end = utt.end_or(now)
    lines = [f"Utterance {utt.utterance_id}: {format_time(utt.start)} – {format_time(end)} ({end - utt.start:.1f} s)"]
    ev = utt.emotion
    if ev is None:
        lines.append("listening…")
        return "\n".join(lines)
    state = "final" if ev.final else "partial, still speaking"
    if ev.label == UNCERTAIN:
        lines.append(f"uncertain (best guess {ev.top_label}, {percent_shown(ev.confidence)}) [{state}]")
    else:
        lines.append(f"{ev.label} ({percent_shown(ev.confidence)}) [{state}]")
    for lab in labels:
        lines.append(f"  {lab:<10} {percent_shown(ev.probabilities.get(lab, 0.0), 1):>6}")
    return "\n".join(lines)


def describe_marker(marker: MarkerEvent) -> str:
    """Tooltip text of a marker."""
    return f"Marker {marker.marker_id} at {format_time(marker.time)}" + (f": {marker.note}" if marker.note else "")


EXPORT_FORMATS = ("csv", "json")


def export_timeline(events: list[EmotionEvent], labels: list[str], path: str | os.PathLike,
                    markers: list[MarkerEvent] = (), source: str = "") -> Path:
    """Write final emotion results and the user's markers as CSV or JSON (by file extension),
    as ``realtime-ser analyze`` writes them (``file`` is ``source``, the input's name).

    CSV: one row per utterance and one per marker (label ``marker``, its time as start and end,
    its text in the last column, ``note``). JSON: ``[{"file": source, "events": [...]}]``, the
    results and markers as ``to_dict()`` gives them. Both in time order, a marker before the
    result of an utterance that ended after it, so a spreadsheet shows each marked moment among
    the results around it.
    """
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise SerError(f"{p}: unknown export format (use .csv, .json or .png)")
    timeline = merge_markers([e.to_dict() for e in events],
                             [m.to_dict() for m in sorted(markers, key=lambda m: m.time)])
    if fmt == "json":
        text = timeline_json([{"file": source, "events": timeline}])
    else:
        text = timeline_csv([(source, timeline)], labels)
    try:
        write_text_atomic(p, text)  # an export over an earlier one never leaves half a file
    except OSError as exc:
        raise SerError(f"{p}: cannot write export ({exc.strerror})") from None
    return p
