"""Benchmark: live latencies, measured by replaying real RAVDESS clips paced in real time.

Like whisper_streaming's replay mode, each clip is fed through the real pipeline at
the pace of a microphone (20 ms blocks).  Printed:

* final-event latency after the VAD's end decision (model + features, in the worker);
* the wall-clock delay from the moment the speech really stopped (the end of the
  reference span of the studio clip, see tools/vad_reference.py) to the final event;
* VAD end-of-speech decision delay (stream time of the decision - reference end);
* the longest interval between partial results (and from the start) while speaking.

    python tools/bench_latency.py [--clips 12] [--vad-accuracy]
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the realtime-ser command does, before numpy loads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime_ser.audio.file_source import FileSource  # noqa: E402
from realtime_ser.audio.io import load_audio  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent  # noqa: E402
from realtime_ser.pipeline.worker import Pipeline  # noqa: E402
from tools import argument_parser, corpora, count_arg, exit_code_of  # noqa: E402
from tools.vad_reference import reference_span, vad_events  # noqa: E402  (not the tests': no pytest needed)

SR = 16000


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    ap = argument_parser("bench_latency", __doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                    help="data directory with the corpora; its RAVDESS clips are replayed (default: %(default)s)")
    ap.add_argument("--clips", type=count_arg, default=12,
                    help="RAVDESS clips replayed in real time, spread over the corpus (default: %(default)s)")
    ap.add_argument("--model", help="TFLite model file (default: the bundled models/ser_int8.tflite)")
    ap.add_argument("--vad-accuracy", action="store_true", help="also score the VAD on every 3rd clip")
    args = ap.parse_args()
    return exit_code_of(lambda: bench(args))  # no RAVDESS clips, an undecodable clip, a bad model


def bench(args) -> int:
    clips = corpora.evenly_spread(args.data, "ravdess", args.clips)
    model = EmotionModel.load(args.model)
    final_ms, wall_ms, vad_ms, partial_gaps = [], [], [], []
    for clip in clips:
        audio = load_audio(clip, SR)
        pipe = Pipeline(FileSource(clip, realtime=True), model)
        arrivals = []
        pipe.add_event_listener(lambda e: arrivals.append((time.monotonic(), e)))
        t0 = time.monotonic()
        pipe.start()
        pipe.wait(30)
        pipe.stop()
        ends = [(t, e) for t, e in arrivals if isinstance(e, SpeechEvent) and e.kind == "end"]
        finals = [(t, e) for t, e in arrivals if isinstance(e, EmotionEvent) and e.final]
        partial = [e.end for _, e in arrivals if isinstance(e, EmotionEvent) and not e.final]
        if not finals:  # no speech found (nor a reference span to measure from)
            continue
        ref_end = reference_span(audio)[1]
        t_final, final = finals[-1]
        t_end, _ = ends[-1]
        final_ms.append(final.latency_ms)
        wall_ms.append((t_final - (t0 + ref_end)) * 1000)
        vad_ms.append((t_end - (t0 + ref_end)) * 1000)
        checkpoints = [finals[0][1].start] + [p for p in partial if p <= final.end] + [final.end]
        partial_gaps.append(max(np.diff(checkpoints)))
    if not final_ms:  # nothing measured: no figure to print
        raise SerError(f"{args.data}: none of the {len(clips)} RAVDESS clips replayed gave a final result")
    print(f"latency: {len(final_ms)} RAVDESS clips replayed in real time (20 ms blocks)")
    print(f"  final event after VAD end decision: median {pct(final_ms, 50):.1f} ms, "
          f"p95 {pct(final_ms, 95):.1f} ms, max {max(final_ms):.1f} ms")
    print(f"  VAD end-of-speech decision after speech stopped (wall clock): median {pct(vad_ms, 50):.0f} ms, "
          f"p95 {pct(vad_ms, 95):.0f} ms, max {max(vad_ms):.0f} ms")
    print(f"  final event after speech stopped (wall clock): median {pct(wall_ms, 50):.0f} ms, "
          f"max {max(wall_ms):.0f} ms")
    print(f"  longest interval between partial results while speaking: {max(partial_gaps):.2f} s")
    if args.vad_accuracy:
        sample = [Path(args.data, c.path) for c in corpora.require_clips(args.data, "ravdess")][::3]
        good = 0
        for clip in sample:
            x = load_audio(clip, SR)
            rs, re_ = reference_span(x)
            ev = vad_events(x)
            good += len(ev) == 2 and abs(ev[0].sample / SR - rs) <= 0.15 and abs(ev[1].sample / SR - re_) <= 0.15
        print(f"VAD accuracy: {good}/{len(sample)} clips ({100 * good / len(sample):.1f}%) give one utterance "
              f"with start and end within 150 ms of the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
