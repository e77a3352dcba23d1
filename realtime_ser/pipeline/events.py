"""Events the pipeline emits; the contract between the engine and its front ends.

All times are seconds of *stream time* (samples consumed / sample rate) since the
source started, so a replayed file and a live microphone give the same numbers.
Events are immutable and JSON-serialisable (``to_dict``/``from_dict``), which is
what the session event log and ``--output FILE`` store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Union

from realtime_ser.console import printable

UNCERTAIN = "uncertain"
#: How an error StatusEvent's message begins when a bug (not bad input) stopped the pipeline;
#: the worker logs its traceback.
INTERNAL_ERROR = "internal error: "


@dataclass(frozen=True)
class SpeechEvent:
    """The VAD decided speech started or ended (``kind`` is ``"start"`` or ``"end"``)."""

    kind: str
    time: float
    utterance_id: int
    type: str = field(default="speech", init=False)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EmotionEvent:
    """An emotion estimate for (part of) one utterance.

    ``final`` is False for the partial results emitted while someone is still
    speaking; the last event of an utterance has ``final=True``.  ``label`` is
    the most probable class, or ``"uncertain"`` when ``confidence`` is below the
    configured threshold (``top_label`` always holds the argmax).
    """

    utterance_id: int
    start: float
    end: float
    label: str
    top_label: str
    confidence: float
    probabilities: dict[str, float]
    final: bool
    latency_ms: float | None = None
    type: str = field(default="emotion", init=False)

    @property
    def uncertain(self) -> bool:
        return self.label == UNCERTAIN

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EmotionEvent":
        data = {k: v for k, v in data.items() if k != "type"}
        return cls(**data)


@dataclass(frozen=True)
class StatusEvent:
    """Something a user should see in a status bar: device lost, overrun, recovered..."""

    level: str  # "info" | "warning" | "error"
    message: str
    time: float
    type: str = field(default="status", init=False)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MarkerEvent:
    """A moment the user marked (the GUI's Mark, a line typed into ``listen``), with an optional note.

    Not produced by the pipeline: the front ends add it to the same event stream, so
    a recorded session keeps its markers in ``events.jsonl`` beside the results, on
    the same clock.  ``marker_id`` counts from 1 within a session.

    The log stays append-only when a marker is changed: a later event with the same
    ``marker_id`` replaces it (an edited note), one with ``removed`` set deletes it;
    :func:`current_markers` folds a stream into what is left.
    """

    marker_id: int
    time: float
    note: str = ""
    removed: bool = False
    type: str = field(default="marker", init=False)

    def __post_init__(self):
        # A note is printed (listen's lines, tables): a control character in it (the ESC of a terminal
        # escape sequence, BEL, a newline) is a space, in a note typed now or read from an older log;
        # the note is then trimmed, as the front ends trim what is typed. The rule titles follow too.
        if isinstance(self.note, str):
            cleaned = printable(self.note)
            if cleaned is not self.note:
                object.__setattr__(self, "note", cleaned.strip())

    def to_dict(self) -> dict:
        data = asdict(self)
        if not self.removed:  # logs written before markers could be deleted look the same
            del data["removed"]
        return data


def current_markers(events) -> list[MarkerEvent]:
    """The markers a stream of events leaves: the last event per ``marker_id``, removed ones
    dropped, in time order."""
    latest: dict[int, MarkerEvent] = {}
    for event in events:
        if getattr(event, "type", None) == "marker":
            latest[event.marker_id] = event
    return sorted((m for m in latest.values() if not m.removed), key=lambda m: (m.time, m.marker_id))


def highest_marker_id(events) -> int:
    """The highest marker number in a stream of events, deleted markers included (0 if none):
    a new marker is numbered after it, so a number never names two moments."""
    return max((event.marker_id for event in events if getattr(event, "type", None) == "marker"), default=0)


PipelineEvent = Union[SpeechEvent, EmotionEvent, StatusEvent, MarkerEvent]


def event_from_dict(data: dict) -> PipelineEvent:
    """Inverse of ``to_dict`` for any pipeline event (raises KeyError/TypeError on bad input)."""
    kind = data.get("type")
    body = {k: v for k, v in data.items() if k != "type"}
    if kind == "emotion":
        return EmotionEvent(**body)
    if kind == "speech":
        return SpeechEvent(**body)
    if kind == "status":
        return StatusEvent(**body)
    if kind == "marker":
        return MarkerEvent(**body)
    raise KeyError(f"unknown event type {kind!r}")
