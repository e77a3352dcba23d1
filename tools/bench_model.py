"""Benchmark: milliseconds per 3 s window on one CPU thread, and file size.

    python -m tools.bench_model [models/ser_int8.tflite ...]

Times the LiteRT inference of one window (single thread, after warm-up) and,
separately, the feature extraction of one window, which the live path also
pays.  The figures go into the model card; they are not asserted by tests.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/bench_model.py` finds `tools`

import numpy as np  # noqa: E402

from realtime_ser.dsp.features import FeatureParams, window_features  # noqa: E402
from realtime_ser.model.backend import LiteRTBackend  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.model.metadata import read_metadata_bytes  # noqa: E402
from tools import argument_parser, count_arg, exit_code_of, file_size  # noqa: E402


def _timed(fn, repeats: int) -> np.ndarray:
    times = np.empty(repeats)
    for i in range(repeats):
        t = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t
    return times * 1000


def bench(model_bytes: bytes, repeats: int = 300, params: FeatureParams | None = None,
          source: str = "benchmark") -> dict:
    """Median/p95 ms per window for inference and for features, plus size in bytes.

    ``params``: the model's feature parameters (default: those embedded in the model), so the input
    shape and the feature cost are the model's own.  ``source`` names the model in errors (its file).
    """
    params = params or read_metadata_bytes(model_bytes, source).features
    backend = LiteRTBackend(model_bytes, source, num_threads=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, params.n_frames, params.n_features)).astype(np.float32)
    for _ in range(20):
        backend.predict(x)
    infer = _timed(lambda: backend.predict(x), repeats)
    audio = (0.1 * rng.standard_normal(params.window_samples)).astype(np.float32)
    window_features(audio, params)
    feats = _timed(lambda: window_features(audio, params), max(20, repeats // 10))
    return {
        "bytes": len(model_bytes),
        "ms_median": round(float(np.median(infer)), 3),
        "ms_p95": round(float(np.percentile(infer, 95)), 3),
        "feature_ms_median": round(float(np.median(feats)), 2),
        "threads": 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench_model", __doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["models/ser_int8.tflite", "models/ser_float32.tflite"],
                        help="TFLite model files to time (default: models/ser_int8.tflite models/ser_float32.tflite)")
    parser.add_argument("--repeats", type=count_arg, default=500, help="timed inferences per model (>= 1)")
    args = parser.parse_args(argv)
    return exit_code_of(lambda: _bench_all(args.models, args.repeats))


def _bench_all(models: list[str], repeats: int) -> int:
    for name in models:
        path = Path(name)
        # Loaded as every tool and `realtime-ser analyze --model` load it: a missing file, a folder, and a
        # model whose SHA-256 sidecar does not match (damaged weights, which still run) are refused.
        model = EmotionModel.load(path)
        r = bench(path.read_bytes(), repeats, params=model.params, source=str(path))
        print(f"{path}: {file_size(r['bytes'])}, inference {r['ms_median']:.2f} ms/window "
              f"(p95 {r['ms_p95']:.2f}, 1 thread), features {r['feature_ms_median']:.1f} ms/window")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
