"""realtime-ser: live speech emotion recognition on a laptop CPU.

Layers, from the bottom up:

* ``realtime_ser.audio``    -- decoding files, microphone capture, ring buffer.
* ``realtime_ser.dsp``      -- pure signal processing: features, VAD.
* ``realtime_ser.model``    -- model metadata and the TFLite inference backend.
* ``realtime_ser.pipeline`` -- the streaming worker that turns audio into emotion events.
* ``realtime_ser.session``  -- recorded sessions: writing, reading, repairing them.
* ``realtime_ser.cli`` / ``realtime_ser.gui`` -- the two front ends.

For scripts: ``realtime_ser.predict_clip(path or samples)`` (see ``realtime_ser.api``),
``realtime_ser.EmotionModel`` and ``realtime_ser.Session``.
"""

__version__ = "0.1.0"

# Imported on first use: ``import realtime_ser`` stays cheap (the CLI's --help and --version
# start before NumPy, the model runtime or the decoders are loaded).
_LAZY = {
    "predict_clip": "realtime_ser.api",
    "ClipPrediction": "realtime_ser.api",
    "EmotionModel": "realtime_ser.model.emotion_model",
    "Session": "realtime_ser.session.reader",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'realtime_ser' has no attribute {name!r}")
