"""Turning class probabilities into labels: confidence threshold and temporal smoothing.

Pure helpers with no state beyond what is passed in, so the live pipeline and
``analyze`` label results identically.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from realtime_ser.pipeline.events import UNCERTAIN, EmotionEvent


def label_for(top_label: str, confidence: float, confidence_threshold: float) -> str:
    """The label shown for a result: its most probable class, or uncertain below the threshold."""
    return top_label if confidence >= confidence_threshold else UNCERTAIN


def round_down(value: float, decimals: int = 0) -> float:
    """``value`` rounded *down* to ``decimals`` places, as results' confidences are shown: rounding
    to nearest would show 0.397 as 40% next to a 40% threshold that labels it uncertain. A hair
    (1e-6 of the last place) is added first, so a float just under a step (0.58 held as
    0.57999999999) shows as that step."""
    step = 10 ** decimals
    return math.floor(value * step + 1e-6) / step


def percent_shown(probability: float, decimals: int = 0) -> str:
    """A probability or confidence (0-1) as people see it: ``"39%"`` for 0.397, rounded down (see
    :func:`round_down`), so a shown value at or above the threshold's percent is labelled and one
    below it is uncertain."""
    return f"{round_down(probability * 100, decimals):.{decimals}f}%"


def label_probabilities(
    probs: np.ndarray, labels: list[str], confidence_threshold: float
) -> tuple[str, str, float, dict[str, float]]:
    """``(label, top_label, confidence, {label: p})``; label is "uncertain" below the threshold."""
    probs = np.asarray(probs, dtype=np.float64)
    top = int(np.argmax(probs))
    confidence = float(probs[top])
    top_label = labels[top]
    label = label_for(top_label, confidence, confidence_threshold)
    return label, top_label, confidence, {name: round(float(p), 6) for name, p in zip(labels, probs)}


def relabel(event: EmotionEvent, confidence_threshold: float) -> EmotionEvent:
    """``event`` as another confidence threshold labels it (``event`` itself when that changes nothing):
    a front end showing results under a threshold the pipeline was not started with."""
    label = label_for(event.top_label, event.confidence, confidence_threshold)
    return event if label == event.label else dataclasses.replace(event, label=label)


class ProbabilitySmoother:
    """Exponential moving average of probability vectors (weight = share kept from the past).

    ``weight=0`` disables smoothing.  Reset at each utterance start so one
    utterance's emotion does not leak into the next.
    """

    def __init__(self, weight: float = 0.0):
        if not 0.0 <= weight < 1.0:
            raise ValueError("smoothing weight must be in [0, 1)")
        self.weight = weight
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        self._state = None

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float64)
        if self._state is None or self.weight == 0.0:
            self._state = probs
        else:
            self._state = self.weight * self._state + (1.0 - self.weight) * probs
        return self._state
