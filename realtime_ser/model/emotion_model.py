"""The emotion model wrapper: metadata-checked loading and clip prediction."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from realtime_ser.resources import MODEL_PATH
from realtime_ser.dsp.features import (
    normalize_window,
    segment_frames,
    session_columns,
    session_levels,
    window_features,
)
from realtime_ser.dsp.session_reference import SessionReference
from realtime_ser.errors import ModelError
from realtime_ser.model import checksum
from realtime_ser.model.backend import InferenceBackend, LiteRTBackend
from realtime_ser.model.metadata import ModelMetadata, read_metadata_bytes

#: The bundled model, built by ``python -m tools.build_model`` (see ``realtime_ser.resources``).
DEFAULT_MODEL_PATH = MODEL_PATH


class EmotionModel:
    """Features in, class probabilities out, with the labels and parameters from the file."""

    def __init__(self, backend: InferenceBackend, metadata: ModelMetadata, source: str = "model"):
        p = metadata.features
        expected = (1, p.n_frames, p.n_features)
        if tuple(backend.input_shape) != expected:
            raise ModelError(
                f"{source}: input shape {tuple(backend.input_shape)} does not match its metadata {expected}"
            )
        if backend.n_outputs != len(metadata.labels):
            raise ModelError(
                f"{source}: {backend.n_outputs} outputs but {len(metadata.labels)} labels in its metadata"
            )
        self.backend = backend
        self.metadata = metadata
        self.source = source
        # Models with session references learn the session's speaker from the utterances scored.
        columns = session_columns(p)
        self.session_reference = SessionReference(len(columns)) if columns else None

    @classmethod
    def load(cls, path: str | bytes | os.PathLike | None = None, num_threads: int = 1) -> "EmotionModel":
        p = Path(os.fsdecode(path)) if path is not None else DEFAULT_MODEL_PATH
        if p.is_dir():  # the CLI's --model and model_path get this same line from here
            raise ModelError(f"{p}: is a directory, not a model file")
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise ModelError(f"{p}: cannot read model ({exc.strerror})") from None
        checksum.verify(p, data)  # damaged weights would load and give wrong probabilities
        metadata = read_metadata_bytes(data, str(p))
        return cls(LiteRTBackend(data, str(p), num_threads), metadata, str(p))

    @property
    def labels(self) -> list[str]:
        return self.metadata.labels

    @property
    def params(self):
        return self.metadata.features

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Probabilities for one window's features ``(frames, features)``."""
        probs = self.backend.predict(features[np.newaxis])
        probs = np.clip(probs, 0.0, None)
        total = probs.sum()
        return probs / total if total > 0 else np.full_like(probs, 1.0 / probs.size)

    def predict_window(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities for up to one window of audio (shorter audio is repeated to fit).

        For partial results: it reads the session's reference but does not add to it.
        """
        return self.predict_features(window_features(audio, self.params, self._reference()))

    def predict_segment(self, audio: np.ndarray, hop_seconds: float = 1.5) -> np.ndarray:
        """Probabilities for a segment of any length: mean over overlapping windows.

        A finished utterance: its windows join the session's reference (if the model has one)
        before they are scored, so a file is scored the way the microphone would score it.
        """
        frames = segment_frames(audio, self.params, hop_seconds)
        if self.session_reference is not None:
            self.session_reference.update(session_levels(frames, self.params))
        windows = normalize_window(frames, self.params, self._reference())
        return np.mean([self.predict_features(w) for w in windows], axis=0)

    def reset_session(self) -> None:
        """Forget the speaker heard so far (a new recording, speaker or microphone)."""
        if self.session_reference is not None:
            self.session_reference.reset()

    def _reference(self) -> np.ndarray | None:
        return None if self.session_reference is None else self.session_reference.value
