"""Shared helpers for the session, config, fuzz and soak tests: real data, real model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shared corpora (``../shared/data``), or ``$REALTIME_SER_DATA``."""
    env = os.environ.get("REALTIME_SER_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def crema_clips() -> list[Path]:
    clips = sorted((data_dir() / "crema-d-samples").glob("*.wav"))
    assert clips, f"no CREMA-D sample clips under {data_dir()}"
    return clips


def speech(sample_rate: int = 16000) -> np.ndarray:
    """All six CREMA-D sample clips, concatenated: about 15 s of real speech."""
    from realtime_ser.audio.io import load_audio

    return np.concatenate([load_audio(p, sample_rate) for p in crema_clips()])


def model_metadata():
    """Metadata of the bundled model (models/ser_int8.tflite)."""
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH
    from realtime_ser.model.metadata import read_metadata

    return read_metadata(DEFAULT_MODEL_PATH)


def pcm16(audio: np.ndarray) -> np.ndarray:
    """What the recorder stores for float audio (to compare files sample-exactly)."""
    return np.rint(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
