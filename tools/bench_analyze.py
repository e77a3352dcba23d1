"""Benchmark: `analyze` speed in x real time on one core, decoding included.

    python tools/bench_analyze.py [--clips 120] [--data ../shared/data]
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the realtime-ser command does, before numpy loads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/bench_analyze.py` finds `tools`

from realtime_ser.audio.io import audio_duration  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.pipeline.worker import analyze_file  # noqa: E402
from tools import argument_parser, corpora, count_arg, exit_code_of  # noqa: E402


def main() -> int:
    ap = argument_parser("bench_analyze", __doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                    help="data directory with the corpora; its RAVDESS clips are analysed (default: %(default)s)")
    ap.add_argument("--clips", type=count_arg, default=120,
                    help="RAVDESS clips analysed, spread over the corpus (default: %(default)s)")
    ap.add_argument("--model", help="TFLite model file (default: the bundled models/ser_int8.tflite)")
    args = ap.parse_args()
    return exit_code_of(lambda: bench(args))  # no RAVDESS clips, an undecodable clip, a bad model


def bench(args) -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    clips = corpora.evenly_spread(args.data, "ravdess", args.clips)
    model = EmotionModel.load(args.model)
    analyze_file(clips[0], model)  # warm-up
    audio = sum(audio_duration(c) for c in clips)
    t0 = time.perf_counter()
    c0 = time.process_time()
    n_final = sum(1 for c in clips for e in analyze_file(c, model) if getattr(e, "final", False))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if not n_final:  # the model never ran: no figure of what the target is about
        raise SerError(f"{args.data}: none of the {len(clips)} RAVDESS clips analysed gave a final result")
    print(f"analyze: {len(clips)} RAVDESS clips, {audio:.1f} s of audio, {n_final} final events")
    print(f"  wall {wall:.2f} s -> {audio / wall:.0f}x real time; CPU {cpu:.2f} s -> {audio / cpu:.0f}x real time per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
