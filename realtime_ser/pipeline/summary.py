"""Summing up a session for people: speaking time per emotion, and session times as m:ss.s.

Qt-free, shared by the GUI and the command line.  Emotions are counted in seconds of
speech, not in utterances: one long calm answer outweighs three short exclamations,
which is how a listener would sum up a conversation.
"""

from __future__ import annotations

from realtime_ser.pipeline.events import EmotionEvent


def speech_time_by_label(finals: list[EmotionEvent]) -> list[tuple[str, float]]:
    """Seconds of speech per final label (``uncertain`` included), most first."""
    seconds: dict[str, float] = {}
    for ev in finals:
        seconds[ev.label] = seconds.get(ev.label, 0.0) + max(0.0, ev.end - ev.start)
    return sorted(seconds.items(), key=lambda kv: -kv[1])


def describe_shares(finals: list[EmotionEvent], top: int = 3) -> str:
    """``"neutral 45%, sad 30%, angry 10%"``: the ``top`` largest shares of speaking time."""
    times = speech_time_by_label(finals)
    total = sum(secs for _, secs in times)
    if not times or total <= 0:
        return "-"
    return ", ".join(f"{label} {secs / total:.0%}" for label, secs in times[:top])


def format_time(seconds: float) -> str:
    """Session time as ``m:ss.s`` (minutes keep counting past 59: sessions are rarely hours)."""
    tenths = int(round(max(0.0, seconds) * 10))  # rounded first: 59.96 s is 1:00.0, not 0:60.0
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"
