"""Keras model -> TFLite (float32 and int8) with the realtime-ser metadata inside.

int8: full-integer post-training quantisation (int8 input and output) with a
representative dataset of real training windows; the runtime backend
(:class:`realtime_ser.model.backend.LiteRTBackend`) quantises/dequantises at
the edges.  After writing, each file is loaded back with
:meth:`EmotionModel.load` so a file that the program cannot use never ships.
Beside each file goes its SHA-256 (``<model>.sha256``, see
:mod:`realtime_ser.model.checksum`), which the load checks: damaged weights
would otherwise load and give wrong probabilities.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: say so before the imports (by path, `tools` is not importable yet)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/export.py` finds `tools`
    from tools import not_a_command

    not_a_command(__file__)

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from realtime_ser.model import checksum  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.model.metadata import ModelMetadata, embed_metadata  # noqa: E402


def to_tflite(model, representative: np.ndarray | None = None) -> bytes:
    """Convert; with ``representative`` windows, to full int8."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative is not None:
        reps = np.asarray(representative, dtype=np.float32)

        def gen():
            for row in reps:
                yield [row[np.newaxis]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def write_model(model_bytes: bytes, metadata: ModelMetadata, path: str | os.PathLike) -> EmotionModel:
    """Embed metadata, write atomically with its checksum sidecar, and prove the runtime loads both."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    data = embed_metadata(model_bytes, metadata)
    tmp.write_bytes(data)
    os.replace(tmp, target)
    checksum.write_sidecar(target, data)
    loaded = EmotionModel.load(target)
    if loaded.labels != metadata.labels:
        raise RuntimeError(f"{target}: metadata did not survive the round trip")
    return loaded


def representative_windows(x: np.ndarray, n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), size=min(n, len(x)), replace=False)
    return x[pick].astype(np.float32)

