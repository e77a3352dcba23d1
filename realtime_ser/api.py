"""The Python entry point for scripts: one recording in, its emotions out.

``predict_clip`` runs a file (or an array of samples) through exactly the path the microphone
takes (VAD, then the model on each utterance; :func:`realtime_ser.pipeline.worker.analyze_source`), so a script,
``realtime-ser analyze`` and the app agree.  It adds what a script usually wants on top of the
per-utterance results: one probability per emotion for the whole recording, weighted by how
long each utterance lasted (a long calm answer outweighs a short exclamation, as in the
app's summaries).

It uses the pipeline's defaults unless given a :class:`PipelineConfig`, not the user's
settings file, so a script gives the same answer on every machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from realtime_ser.pipeline.events import EmotionEvent, StatusEvent
from realtime_ser.pipeline.processor import PipelineConfig
from realtime_ser.pipeline.smoothing import label_for

__all__ = ["ClipPrediction", "predict_clip"]


@dataclass(frozen=True)
class ClipPrediction:
    """The emotions of one recording.

    ``path``: the recording's file ("" for an array of samples).
    ``utterances``: the final result of each utterance the VAD found, in order.
    ``probabilities``: per emotion, the mean of the utterances' probabilities weighted by their
    length; empty when no speech was found (``message`` then says why).
    ``top_label``/``confidence``: its most probable emotion and that probability; ``label`` is
    ``top_label``, or ``"uncertain"`` below the confidence threshold (as for one utterance).
    """

    path: str
    utterances: list[EmotionEvent]
    probabilities: dict[str, float]
    label: str | None
    top_label: str | None
    confidence: float
    speech_seconds: float
    message: str | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def has_speech(self) -> bool:
        return bool(self.utterances)


def clip_probabilities(utterances: list[EmotionEvent], labels: list[str]) -> dict[str, float]:
    """Length-weighted mean of the utterances' probabilities (empty for no utterances)."""
    if not utterances:
        return {}
    weights = [max(ev.end - ev.start, 1e-3) for ev in utterances]
    total = sum(weights)
    return {
        label: sum(w * ev.probabilities.get(label, 0.0) for w, ev in zip(weights, utterances)) / total
        for label in labels
    }


def predict_clip(
    audio,
    model=None,
    config: PipelineConfig | None = None,
    channel: int | None = None,
    sample_rate: int | None = None,
) -> ClipPrediction:
    """The emotions of a recording: a file's path (str, bytes or PathLike; any format the app opens)
    or an array of samples.

    An array is ``(frames,)`` or ``(frames, channels)``, float in [-1, 1] or integer PCM, and needs
    its ``sample_rate`` (no default: librosa loads at 22,050 Hz, soundfile at the file's rate, and
    a wrong guess would go unnoticed); it takes the same path as the file it came from.
    ``channel`` (1-based) takes one channel of a multi-channel recording (one side of a call,
    one speaker's microphone) instead of the mix of all.

    ``model``: an :class:`~realtime_ser.model.emotion_model.EmotionModel`, a model file's path
    (as for the recording), or None for the bundled model; pass a loaded model when scoring many files.
    Bad input (a missing, damaged or empty file, an array that is not audio, a bad model) raises
    :class:`realtime_ser.errors.SerError` with a one-line message.
    """
    import numpy as np

    from realtime_ser.audio.sources import ArraySource
    from realtime_ser.errors import AudioFileError
    from realtime_ser.model.emotion_model import EmotionModel
    from realtime_ser.pipeline.worker import analyze_file, analyze_source

    if isinstance(audio, bytes):  # a path as os.fsencode gives it, not samples
        if len(audio) > 4096 or b"\0" in audio:
            raise AudioFileError("audio: bytes are taken as a file's path, and these are not one (raw PCM? "
                                 "np.frombuffer(data, dtype=np.int16) for 16-bit, with its sample_rate)")
        audio = os.fsdecode(audio)
    is_path = isinstance(audio, (str, os.PathLike))
    if is_path and os.fspath(audio) in ("", b""):  # Path("") is "." and was read as the current folder
        raise AudioFileError("audio: an empty path ('') names no file or folder")
    if not is_path and (audio is None or hasattr(audio, "read") or isinstance(audio, EmotionModel)
                        or (not isinstance(audio, (list, tuple)) and np.ndim(audio) == 0)):
        opened = " (an open file: pass its path, or the samples soundfile.read gives)" if hasattr(audio, "read") else ""
        raise AudioFileError(f"audio: expected a file's path or an array of samples, not {type(audio).__name__}{opened}")
    if config is not None and not isinstance(config, PipelineConfig):
        raise TypeError(f"config: expected a PipelineConfig or None, not {type(config).__name__}")
    if is_path and sample_rate is not None:
        raise AudioFileError(f"{audio}: sample_rate is for an array of samples; a file's header gives its own")
    if not is_path and sample_rate is None:
        raise AudioFileError("audio: an array of samples needs its sample_rate (e.g. sample_rate=16000)")
    source = None if is_path else ArraySource(audio, sample_rate, channel)  # checked before a model loads
    if model is None or isinstance(model, (str, bytes, os.PathLike)):
        model = EmotionModel.load(model)
    elif not isinstance(model, EmotionModel):
        raise TypeError(f"model: expected an EmotionModel, a model file's path or None, not {type(model).__name__}")
    config = config or PipelineConfig()
    events = analyze_file(audio, model, config, channel=channel) if is_path else analyze_source(source, model, config)
    finals = [ev for ev in events if isinstance(ev, EmotionEvent) and ev.final]
    messages = [ev.message for ev in events if isinstance(ev, StatusEvent)]
    labels = list(model.labels)
    probabilities = clip_probabilities(finals, labels)
    top_label, confidence, label = None, 0.0, None
    if probabilities:
        top_label = max(probabilities, key=probabilities.get)
        confidence = probabilities[top_label]
        label = label_for(top_label, confidence, config.confidence_threshold)
    return ClipPrediction(
        path=str(audio) if is_path else "",
        utterances=finals,
        probabilities=probabilities,
        label=label,
        top_label=top_label,
        confidence=confidence,
        speech_seconds=sum(max(0.0, ev.end - ev.start) for ev in finals),
        message=None if finals else (messages[-1] if messages else "no speech found"),
        labels=labels,
    )
