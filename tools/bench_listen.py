"""Benchmark: CPU use of the live path while idle and while speech is processed, and
resident-memory growth over 30 minutes of audio pushed through it (sped up).

The audio goes through the same Pipeline/FileSource path as a paced microphone
replay, in 20 ms blocks, ``--speed`` times faster than real time.  CPU is reported
as the share of one core the process would need at real time
(CPU seconds / audio seconds).  "idle" is low room noise (-60 dBFS), "speech" is
RAVDESS clips back to back (speech about 60% of the time, partials every 0.5 s).

    python tools/bench_listen.py [--minutes 30] [--speed 20]
"""

import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the realtime-ser command does, before numpy loads

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/bench_listen.py` finds `tools`

from realtime_ser.audio.file_source import FileSource  # noqa: E402
from realtime_ser.audio.io import load_audio  # noqa: E402
from realtime_ser.console import positive_number  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.model.emotion_model import EmotionModel  # noqa: E402
from realtime_ser.pipeline.worker import Pipeline  # noqa: E402
from tools import argument_parser, corpora, require_benchmark_extra  # noqa: E402

SR = 16000


def measure(path: Path, model, minutes: float, speed: float) -> tuple[float, float, int, int]:
    import psutil  # the test extra's (checked in main)

    src = FileSource(path, realtime=True, loop=True, speed=speed)
    pipe = Pipeline(src, model)
    n_final = [0]
    pipe.add_event_listener(lambda e: n_final.__setitem__(0, n_final[0] + (getattr(e, "final", False) is True)))
    proc = psutil.Process()
    pipe.start()
    time.sleep(2.0)  # let caches and buffers reach their steady size
    gc.collect()
    rss0 = proc.memory_info().rss
    cpu0 = sum(proc.cpu_times()[:2])
    t0 = pipe.stats.stream_time
    target = minutes * 60
    while pipe.stats.stream_time - t0 < target:
        time.sleep(0.5)
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    audio = pipe.stats.stream_time - t0
    pipe.stop()
    gc.collect()
    rss1 = proc.memory_info().rss
    return 100.0 * cpu / audio, audio, rss1 - rss0, n_final[0]


def main() -> int:
    ap = argument_parser("bench_listen", __doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                    help="data directory with the corpora; up to 40 of its RAVDESS clips make the looped speech "
                         "(default: %(default)s)")
    ap.add_argument("--minutes", type=positive_number, default=30.0,  # 0 would divide by zero, inf never end
                    help="minutes of audio measured, after 2 s of warm-up (default: %(default)g)")
    ap.add_argument("--speed", type=positive_number, default=20.0,
                    help="replay speed, times real time (default: %(default)g)")
    ap.add_argument("--model", help="TFLite model file (default: the bundled models/ser_int8.tflite)")
    args = ap.parse_args()
    try:
        require_benchmark_extra()
        model = EmotionModel.load(args.model)
        clips = [Path(args.data, c.path) for c in corpora.require_clips(args.data, "ravdess")][::24][:40]
        speech_audio = np.concatenate([load_audio(c, SR) for c in clips])
    except SerError as exc:  # no RAVDESS clips, an undecodable clip, a missing or corrupt model
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-listen-") as tmp:
        rng = np.random.default_rng(0)
        idle = Path(tmp) / "idle.wav"
        sf.write(idle, (rng.standard_normal(60 * SR) * 1e-3).astype(np.float32), SR)
        speech = Path(tmp) / "speech.wav"
        sf.write(speech, speech_audio, SR)
        del speech_audio  # not held while memory is measured
        for name, path in (("idle", idle), ("speech", speech)):
            cpu, audio, growth, finals = measure(path, model, args.minutes, args.speed)
            print(f"listen {name}: {audio / 60:.1f} min of audio at {args.speed:g}x -> {cpu:.2f}% of one core "
                  f"at real time; RSS growth {growth / 2**20:+.1f} MB; {finals} final events")
            if name == "speech" and not finals:  # the model never ran: the figure is the idle one again
                print(f"error: {args.data}: the speech run gave no result (no speech found in {len(clips)} RAVDESS "
                      f"clip{'s' * (len(clips) != 1)}), so its figures measure no recognition", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
