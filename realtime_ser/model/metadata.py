"""Model metadata that travels inside the .tflite file.

The TFLite flatbuffer has a ``metadata`` table of named buffers (the converter
itself stores ``min_runtime_version`` there).  We add one entry,
``realtime_ser``, holding UTF-8 JSON: labels, feature parameters, window
length, version, training data and metrics.  Reading it needs only the
flatbuffer schema shipped with ai-edge-litert, not TensorFlow.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from realtime_ser.dsp.features import FeatureParams
from realtime_ser.errors import ModelError

METADATA_NAME = "realtime_ser"
METADATA_FORMAT = 1

#: A file that starts like a TFLite model but whose flatbuffer cannot be read through. Neither the
#: flatbuffer reader (struct.error, IndexError) nor the runtime ("not a valid Flatbuffer buffer")
#: says anything a user can act on; what it almost always means can.
INCOMPLETE_MODEL = "not a complete TFLite model (truncated or another kind of file)"


@dataclass
class ModelMetadata:
    """What inference needs to know about a model, and what a user may want to."""

    labels: list[str]
    features: FeatureParams
    model_version: str = "0"
    quantization: str = "int8"
    created: str = ""
    training_data: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    licence: str = ""
    description: str = ""
    format: int = METADATA_FORMAT

    def to_json(self) -> str:
        data = asdict(self)
        data["features"] = self.features.to_dict()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "model") -> "ModelMetadata":
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("metadata is not a JSON object")
            if data.get("format") != METADATA_FORMAT:
                raise ValueError(f"metadata format {data.get('format')!r}, expected {METADATA_FORMAT}")
            labels = data["labels"]
            if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
                raise ValueError("'labels' must be a non-empty list of strings")
            data["features"] = FeatureParams.from_dict(data["features"])
            return cls(**data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: invalid realtime-ser metadata ({exc})") from None


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def read_metadata_bytes(model_bytes: bytes, source: str = "model") -> ModelMetadata:
    """Extract our metadata from the bytes of a .tflite file."""
    schema = _schema()
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise ModelError(f"{source}: not a TFLite model file")
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() and entry.Name().decode("utf-8") == METADATA_NAME:
                buf = model.Buffers(entry.Buffer())
                if buf.Offset() > 1:  # large models keep buffers after the flatbuffer
                    raw = model_bytes[buf.Offset() : buf.Offset() + buf.Size()]
                else:
                    raw = buf.DataAsNumpy().tobytes()
                return ModelMetadata.from_json(raw.decode("utf-8"), source)
    except ModelError:
        raise
    except Exception:  # a corrupt flatbuffer raises anything from IndexError to struct.error
        raise ModelError(f"{source}: {INCOMPLETE_MODEL}") from None
    raise ModelError(f"{source}: TFLite model has no realtime-ser metadata (not trained by tools/train.py?)")


def read_metadata(path: str | os.PathLike) -> ModelMetadata:
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    return read_metadata_bytes(p.read_bytes(), str(p))


def embed_metadata(model_bytes: bytes, metadata: ModelMetadata) -> bytes:
    """Return a copy of a .tflite model with ``metadata`` stored inside it."""
    from ai_edge_litert.tools import flatbuffer_utils

    schema = _schema()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    model.metadata = [m for m in (model.metadata or []) if m.name != METADATA_NAME.encode()]
    buffer = schema.BufferT()
    buffer.data = list(metadata.to_json().encode("utf-8"))
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
