"""Inference backends: one small interface, LiteRT (TFLite) as the implementation.

Following openWakeWord, the model wrapper (:class:`EmotionModel`) knows about
features and labels; a backend only maps an input tensor to class
probabilities.  Quantisation (int8 in, int8 out) is handled here so callers
always deal in float32.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from realtime_ser.errors import ModelError
from realtime_ser.model.metadata import INCOMPLETE_MODEL
from realtime_ser.native_stderr import native_stderr_silenced


class InferenceBackend(Protocol):
    """Maps a batch ``(1, frames, features)`` float32 to ``(n_classes,)`` probabilities."""

    input_shape: tuple[int, ...]
    n_outputs: int

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


def _load_failure(exc: BaseException) -> str:
    """Why the runtime refused a model: its own first line, unless that only says the flatbuffer is
    invalid, which for a file that passed the metadata check means it was cut short."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "not a valid flatbuffer" in detail.lower():
        return INCOMPLETE_MODEL
    return f"the TFLite runtime cannot load it ({detail})"


class LiteRTBackend:
    """ai-edge-litert interpreter for a float32 or int8 TFLite model (single-threaded by default)."""

    def __init__(self, model_bytes: bytes, source: str = "model", num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        # An interpreter holds one input and one output tensor: calls from two threads (one model shared
        # by a program's threads) overwrote each other's input, or failed ("at least 1 reference to
        # internal data"), so a call runs whole under this lock.
        self._lock = threading.Lock()
        try:
            self._interp = Interpreter(model_content=model_bytes, num_threads=num_threads)
            with native_stderr_silenced():  # the runtime announces its XNNPACK delegate here
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{source}: {_load_failure(exc)}") from None
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{source}: expected one input and one output tensor")
        self._in, self._out = inp[0], out[0]
        self.input_shape = tuple(int(x) for x in self._in["shape"])
        self.n_outputs = int(self._out["shape"][-1])
        self._in_scale, self._in_zero = self._in["quantization"]
        self._out_scale, self._out_zero = self._out["quantization"]
        # One run now: a damaged model can load and still fail on its first invoke (the delegate
        # prepares its nodes there), which must be a one-line load error, not a crash mid-stream.
        with native_stderr_silenced():
            probe = self.predict(np.zeros(self.input_shape, np.float32), source)
        if not np.all(np.isfinite(probe)):
            raise ModelError(f"{source}: the model gives no valid output (not a number): damaged?")

    @classmethod
    def from_file(cls, path: str | os.PathLike, num_threads: int = 1) -> "LiteRTBackend":
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        return cls(p.read_bytes(), str(p), num_threads)

    def predict(self, batch: np.ndarray, source: str = "model") -> np.ndarray:
        x = np.asarray(batch, dtype=np.float32).reshape(self.input_shape)
        if self._in["dtype"] != np.float32:
            info = np.iinfo(self._in["dtype"])
            x = np.clip(np.round(x / self._in_scale + self._in_zero), info.min, info.max)
            x = x.astype(self._in["dtype"])
        with self._lock:
            self._interp.set_tensor(self._in["index"], x)
            try:
                self._interp.invoke()
            except RuntimeError as exc:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if len(detail) > 160:  # the runtime runs its delegate's messages together on one line
                    detail = detail[:160].rstrip() + "…"
                raise ModelError(f"{source}: the TFLite runtime cannot run it ({detail})") from None
            y = self._interp.get_tensor(self._out["index"])[0].copy()
        if self._out["dtype"] != np.float32:
            y = (y.astype(np.float32) - self._out_zero) * self._out_scale
        return y.astype(np.float32)
