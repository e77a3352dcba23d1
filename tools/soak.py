"""Soak test: hours of real speech through the live path, with a session being recorded.

    python -m tools.soak                      # 2 h of speech, paced replay at 40x, then 60 s of virtual mic
    python -m tools.soak --hours 0.5 --speed 100 --mic-seconds 0
    python -m tools.soak --short              # CI size (< 60 s): ~4 min of speech + 12 s of virtual mic

A "program" of real speech is built from RAVDESS and CREMA-D clips separated by
0.8-2.5 s of quiet room noise (written to a temp dir, never committed).  It is
looped through ``FileSource(realtime=True, loop=True, speed=...)`` into the
real ``Pipeline`` with the bundled model, exactly as a microphone would feed it,
while a ``SessionRecorder`` records it.  Then the same kind of program is played
into a private PulseAudio virtual microphone and captured through
``MicrophoneSource`` in real time.

Figures (printed, and written as JSON with ``--json``):

* utterances in (clips played) vs out (final emotion results); a clip is
  *lost* when no final result overlaps it.  Pass: none lost.
* RSS growth after warm-up: the value at the end minus the value once the first
  pass over the looped program is done (every clip, and so every code path, seen
  once; retained memory, what a leak leaves).  Pass: <= 20 MB.
  The peak growth is reported too; it includes transient queues.
* latency of final results (``EmotionEvent.latency_ms``: end-of-speech decision
  to result, model and features included): median, p95, max.  Pass: p95 <= 500 ms.
* the recorded session opens, and its duration equals the stream time.

Exit status 0 only when every check passes.
"""

from __future__ import annotations

import bisect
import json
import importlib
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the realtime-ser command does, before numpy loads

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tools/soak.py` finds `tools`

from realtime_ser.audio.io import load_audio  # noqa: E402
from realtime_ser.console import non_negative_number, positive_number  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.pipeline.events import EmotionEvent, StatusEvent  # noqa: E402
from realtime_ser.pipeline.worker import Pipeline, PipelineConfig, analyze_file  # noqa: E402
from tools import argument_parser, require_benchmark_extra, seed_arg  # noqa: E402

SR = 16000
REPO = Path(__file__).resolve().parents[1]
MAX_RSS_GROWTH_MB = 20.0
MAX_P95_LATENCY_MS = 500.0


def default_data_dir() -> Path:
    env = os.environ.get("REALTIME_SER_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def speech_clips(data_dir: Path, count: int, seed: int) -> list[Path]:
    """CREMA-D's six samples plus a seeded spread of RAVDESS speech clips (all actors, all emotions)."""
    crema = sorted((data_dir / "crema-d-samples").glob("*.wav"))
    ravdess = sorted((data_dir / "ravdess").glob("Actor_*/*.*"))
    if not crema and not ravdess:
        raise SerError(f"{data_dir}: no RAVDESS or CREMA-D clips found (use --data)")
    rng = np.random.default_rng(seed)
    picked = list(rng.choice(len(ravdess), size=min(count, len(ravdess)), replace=False)) if ravdess else []
    return crema + [ravdess[i] for i in sorted(picked)]


@dataclass
class Program:
    """One pass of the soak audio: where each clip lies, in seconds."""

    path: Path
    duration: float
    clips: list[tuple[float, float]] = field(default_factory=list)


def build_program(clips: list[Path], out: Path, seconds: float, seed: int) -> Program:
    """Clips (cycled) separated by quiet noise until ``seconds`` of audio; written as 16-bit WAV."""
    rng = np.random.default_rng(seed)
    noise_rms = 10 ** (-65 / 20)
    spans = []
    pos = 0
    decoded: dict[Path, np.ndarray] = {}
    with sf.SoundFile(out, "w", SR, 1, "PCM_16") as f:

        def gap(length_s: float) -> None:
            nonlocal pos
            n = int(length_s * SR)
            f.write((rng.standard_normal(n) * noise_rms).astype(np.float32))
            pos += n

        gap(1.0)
        i = 0
        while pos < seconds * SR:
            path = clips[i % len(clips)]
            i += 1
            if path not in decoded:
                decoded[path] = load_audio(path, SR)
            audio = decoded[path]
            spans.append((pos / SR, (pos + audio.size) / SR))
            f.write(audio)
            pos += audio.size
            gap(float(rng.uniform(0.8, 2.5)))
        gap(0.5)
    return Program(out, pos / SR, spans)


class Tally:
    """Event listener (runs on the pipeline thread): what came out."""

    def __init__(self):
        self.finals: list[tuple[float, float]] = []
        self.latencies: list[float] = []
        self.warnings: list[str] = []
        self.speech_starts = 0
        self.first_start: float | None = None
        self._lock = threading.Lock()

    def __call__(self, event) -> None:
        with self._lock:
            if isinstance(event, EmotionEvent) and event.final:
                self.finals.append((event.start, event.end))
                if event.latency_ms is not None:
                    self.latencies.append(event.latency_ms)
            elif isinstance(event, StatusEvent) and event.level != "info":
                self.warnings.append(event.message)
            elif getattr(event, "type", "") == "speech" and event.kind == "start":
                self.speech_starts += 1
                if self.first_start is None:
                    self.first_start = event.time


def match_clips(spans: list[tuple[float, float]], finals: list[tuple[float, float]]) -> tuple[int, list, int]:
    """``(detected, lost_spans, unmatched_finals)``: a clip is detected if a final result overlaps it."""
    finals = sorted(finals)
    starts = [s for s, _ in finals]
    detected, lost, used = 0, [], set()
    for a, b in spans:
        hit = False
        j = bisect.bisect_left(starts, b)  # finals starting before the clip ends
        k = j - 1
        while k >= 0 and finals[k][1] > a - 12.0:  # no utterance is longer than the VAD's cut
            if finals[k][1] > a and finals[k][0] < b:
                hit = True
                used.add(k)
            k -= 1
        if hit:
            detected += 1
        else:
            lost.append((round(a, 2), round(b, 2)))
    return detected, lost, len(finals) - len(used)


def _latency_figures(latencies: list[float]) -> dict:
    if not latencies:
        return {"median_ms": None, "p95_ms": None, "max_ms": None}
    lat = np.asarray(latencies)
    return {
        "median_ms": round(float(np.median(lat)), 1),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "max_ms": round(float(lat.max()), 1),
    }


def _drain(pipeline: Pipeline) -> None:
    """Consume the event queue like a front end does (it is bounded, but a soak should not fill it)."""
    while True:
        try:
            pipeline.events.get_nowait()
        except Exception:
            return


def run_replay(model, program: Program, hours: float, speed: float, record_dir: Path | None,
               log=print) -> dict:
    """Loop ``program`` through the live path for ``hours`` of stream time."""
    import psutil  # the test extra's (checked in main)

    from realtime_ser.audio.file_source import FileSource

    loops = max(1, math.ceil(hours * 3600 / program.duration))
    total = loops * program.duration
    source = FileSource(program.path, realtime=True, loop=True, speed=speed)
    pipeline = Pipeline(source, model, PipelineConfig())
    tally = Tally()
    pipeline.add_event_listener(tally)
    recorder = None
    if record_dir is not None:
        from realtime_ser.session import SessionRecorder

        recorder = SessionRecorder(record_dir, SR, "soak replay", model.metadata, {"speed": speed})
        recorder.start()
        pipeline.add_audio_listener(recorder.write_audio)
        pipeline.add_event_listener(recorder.write_event)

    proc = psutil.Process()
    rss: list[tuple[float, float]] = []
    t0 = time.monotonic()
    last_log = t0
    pipeline.start()
    try:
        while pipeline.running and pipeline.stats.stream_time < total:
            time.sleep(0.25)
            _drain(pipeline)
            rss.append((pipeline.stats.stream_time, proc.memory_info().rss / 2**20))
            if time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                log(f"  replay: {pipeline.stats.stream_time / 60:6.1f} / {total / 60:.1f} min of audio, "
                    f"RSS {rss[-1][1]:.1f} MB, {len(tally.finals)} results")
    finally:
        pipeline.stop()
        _drain(pipeline)
        if recorder is not None:
            recorder.stop()
    wall = time.monotonic() - t0
    stats = pipeline.stats
    spans = [(a + k * program.duration, b + k * program.duration) for k in range(loops) for a, b in program.clips]
    spans = [s for s in spans if s[1] <= stats.stream_time]
    detected, lost, extra = match_clips(spans, tally.finals)

    warm = [m for t, m in rss if t >= min(program.duration, 0.5 * total)] or [m for _, m in rss]
    baseline = warm[0]
    result = {
        "audio_hours": round(stats.stream_time / 3600, 3),
        "wall_s": round(wall, 1),
        "speed": round(stats.stream_time / wall, 1),
        "utterances_in": len(spans),
        "utterances_out": len(tally.finals),
        "lost": len(lost),
        "lost_spans": lost[:10],
        "extra_results": extra,
        "rss_baseline_mb": round(baseline, 1),
        "rss_max_mb": round(max(warm), 1),
        "rss_end_mb": round(warm[-1], 1),
        # Retained growth (what a leak leaves behind) is what the target bounds; the peak
        # also includes transient queues, which a replay sped up hundreds of times inflates.
        "rss_growth_mb": round(warm[-1] - baseline, 1),
        "rss_peak_growth_mb": round(max(warm) - baseline, 1),
        # RSS at each tenth of the run: a leak shows as a steady climb, warm-up as an early step.
        "rss_trace_mb": [
            round(next((m for t, m in rss if t >= f * total), rss[-1][1]), 1) for f in np.linspace(0, 1, 11)
        ],
        "latency": _latency_figures(tally.latencies),
        "dropped_samples": stats.dropped_samples,
        "overruns": stats.overruns,
        "warnings": tally.warnings[:10],
        "pipeline_error": pipeline.error,
    }
    if recorder is not None:
        from realtime_ser.session import Session

        session = Session.open(recorder.folder)
        result["session"] = {
            "status": session.status,
            "duration_s": round(session.duration, 3),
            "stream_s": round(stats.stream_time, 3),
            "events": len(session.events),
            "finals": len(session.final_emotions),
            "error": recorder.error,
            "warnings": session.warnings,
        }
    return result


def run_virtual_mic(model, program: Program, log=print) -> dict:
    """Play ``program`` into a private PulseAudio virtual microphone and capture it live."""
    import psutil  # the test extra's (checked in main)

    from tools.virtual_mic import PulseServer, reinit_portaudio  # the CI virtual mic, reused as is

    from realtime_ser.audio.sources import MicrophoneSource

    reference = [(e.start, e.end) for e in analyze_file(program.path, model) if isinstance(e, EmotionEvent)]
    root = Path(tempfile.mkdtemp(prefix="rtser-soak-pulse-"))
    server = PulseServer(root)
    saved = os.environ.get("PULSE_SERVER")
    tally = Tally()
    proc = psutil.Process()
    try:  # a daemon that fails to start leaves no folder behind either
        server.start()
        os.environ["PULSE_SERVER"] = server.server
        reinit_portaudio()
        importlib.import_module("sounddevice")  # initialise PortAudio with PULSE_SERVER set

        reinit_portaudio()
        source = MicrophoneSource("pulse")
        pipeline = Pipeline(source, model, PipelineConfig())
        pipeline.add_event_listener(tally)
        pipeline.start()
        rss0 = proc.memory_info().rss / 2**20
        time.sleep(1.0)  # let the noise floor settle on the virtual mic's silence
        started = pipeline.stats.stream_time
        player = server.play(program.path)
        player.wait(program.duration + 30)
        time.sleep(1.0)  # the last utterance's hangover
        pipeline.stop()
        _drain(pipeline)
        rss1 = proc.memory_info().rss / 2**20
        stats = pipeline.stats
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)  # the daemon's socket and state: every run left one
        if saved is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = saved
        reinit_portaudio()
    # Align the clip table with the capture: the first speech onset heard vs the first one in the file.
    offset = started
    if tally.first_start is not None and reference:
        offset = tally.first_start - reference[0][0]
    spans = [(a + offset, b + offset) for a, b in program.clips]
    detected, lost, extra = match_clips(spans, tally.finals)
    return {
        "seconds": round(program.duration, 1),
        "utterances_in": len(spans),
        "utterances_out": len(tally.finals),
        "offline_reference_results": len(reference),
        "lost": len(lost),
        "lost_spans": lost[:10],
        "extra_results": extra,
        "latency": _latency_figures(tally.latencies),
        "dropped_samples": stats.dropped_samples,
        "overruns": stats.overruns,
        "rss_growth_mb": round(rss1 - rss0, 1),
        "warnings": tally.warnings[:10],
        "pipeline_error": pipeline.error,
    }


def checks(result: dict) -> list[str]:
    """The pass/fail criteria; returns the failures."""
    failures = []
    for part in ("replay", "virtual_mic"):
        r = result.get(part)
        if not r:
            continue
        if r["lost"]:
            failures.append(f"{part}: {r['lost']} of {r['utterances_in']} utterances lost {r['lost_spans']}")
        if r["pipeline_error"]:
            failures.append(f"{part}: pipeline error: {r['pipeline_error']}")
        p95 = r["latency"]["p95_ms"]
        if p95 is None or p95 > MAX_P95_LATENCY_MS:
            failures.append(f"{part}: p95 latency {p95} ms > {MAX_P95_LATENCY_MS:.0f} ms")
    replay = result.get("replay")
    if replay:
        if replay["rss_growth_mb"] > MAX_RSS_GROWTH_MB:
            failures.append(f"replay: RSS grew {replay['rss_growth_mb']} MB > {MAX_RSS_GROWTH_MB:.0f} MB")
        s = replay.get("session")
        if s:
            if s["error"] or s["status"] != "complete" or s["warnings"]:
                failures.append(f"replay: session not clean: {s}")
            if abs(s["duration_s"] - s["stream_s"]) > 0.05:
                failures.append(f"replay: session audio {s['duration_s']} s != stream time {s['stream_s']} s")
            if s["finals"] != replay["utterances_out"]:
                failures.append(f"replay: session stored {s['finals']} results, pipeline gave {replay['utterances_out']}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("soak", __doc__.split("\n\n")[0])
    # Refused with a usage error (exit 2), not a traceback later: 0 speed divides by zero,
    # nan/inf hours or minutes never end, a negative seed is refused by numpy.
    parser.add_argument("--hours", type=positive_number, default=2.0,
                        help="hours of speech through the paced replay (default: %(default)g)")
    parser.add_argument("--speed", type=positive_number, default=40.0,
                        help="replay speed (x real time), > 0 (default: %(default)g)")
    parser.add_argument("--program-minutes", type=positive_number, default=12.0,
                        help="minutes of one looped pass of the program (default: %(default)g)")
    parser.add_argument("--mic-seconds", type=non_negative_number, default=60.0,
                        help="seconds of the virtual microphone part (0: skip; default: %(default)g)")
    parser.add_argument("--short", action="store_true", help="CI size: 0.06 h at 100x, 12 s of mic")
    parser.add_argument("--no-record", action="store_true", help="do not record a session during the replay")
    parser.add_argument("--data", type=Path, default=default_data_dir(),
                        help="data directory with the corpora; the program is built from its CREMA-D samples and "
                             "RAVDESS clips (default: %(default)s, $REALTIME_SER_DATA where set)")
    parser.add_argument("--model", default=None,
                        help="TFLite model file (default: the bundled models/ser_int8.tflite)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--seed", type=seed_arg, default=0,
                        help="seed of the clips chosen and their order in the program (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.short:
        args.hours, args.speed, args.program_minutes, args.mic_seconds = 0.06, 100.0, 1.5, 12.0

    from realtime_ser.model.emotion_model import EmotionModel

    try:
        require_benchmark_extra()
        if args.mic_seconds > 0:  # now, not after the hours of replay
            from tools.virtual_mic import require_programs

            require_programs()
        if args.json and not args.json.parent.is_dir():  # found now, not after hours of soak
            raise SerError(f"{args.json}: cannot write the figures there ({args.json.parent} is not a folder)")
        model = EmotionModel.load(args.model)
        clips = speech_clips(args.data, 240, args.seed)
        result = soak(args, model, clips)
    except SerError as exc:  # the above, or a clip that cannot be decoded
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures = checks(result)
    result["failures"] = failures
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    for f in failures:
        print(f"FAIL {f}")
    print("soak: PASS" if not failures else "soak: FAIL")
    return 0 if not failures else 1


def soak(args, model, clips: list[Path]) -> dict:
    """The replay (and the virtual-microphone part): their figures, not yet checked."""
    result: dict = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="rtser-soak-") as tmp:
        tmp = Path(tmp)
        program = build_program(clips, tmp / "program.wav", args.program_minutes * 60, args.seed)
        print(f"program: {len(program.clips)} clips, {program.duration / 60:.1f} min; "
              f"replaying {args.hours:g} h at {args.speed:g}x")
        result["replay"] = run_replay(
            model, program, args.hours, args.speed, None if args.no_record else tmp / "sessions"
        )
        print(json.dumps(result["replay"], indent=2))
        if args.mic_seconds > 0:
            mic_program = build_program(clips[::-1], tmp / "mic.wav", args.mic_seconds, args.seed + 1)
            print(f"virtual mic: {len(mic_program.clips)} clips, {mic_program.duration:.0f} s in real time")
            result["virtual_mic"] = run_virtual_mic(model, mic_program)
            print(json.dumps(result["virtual_mic"], indent=2))
    return result


if __name__ == "__main__":
    sys.exit(main())
