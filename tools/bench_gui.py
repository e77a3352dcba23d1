#!/usr/bin/env python3
"""Benchmark the GUI: frames per second and CPU while replaying and while listening.

    python tools/bench_gui.py [--seconds 20] [--modes replay,listen]

Runs the real window on a private Xvfb display (xcb platform, software
rendering, 1366x768).  "replay" replays the demo session paced in real time;
"listen" captures from a PulseAudio virtual microphone (a private daemon, the
same one the tests use) while the demo session is played into it.  For each
mode it reports, after a 2 s warm-up:

* fps      -- frames the waveform view actually painted per second;
* refresh  -- timer ticks that redrew the views per second;
* tick ms  -- GUI-thread time per timer tick (mean / 95th percentile);
* GUI CPU  -- CPU time of the GUI thread, % of one core;
* pipeline CPU -- the pipeline worker thread (VAD, features, model), % of one core;
* process CPU -- the whole program (GUI + pipeline + audio + Qt threads), % of one core.

"long" is "replay" with 5,000 earlier results already on the timeline (a
~3 h session), to show the per-frame cost does not grow with the session.

Targets (issue 4): >= 25 fps and <= 25 % of one core; exit 1 when a mode misses them.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py does, before numpy loads
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime_ser.console import positive_number  # noqa: E402
from tools import argument_parser, require_benchmark_extra  # noqa: E402
from tools._xvfb import xvfb_display  # noqa: E402

WARMUP_S = 2.0
MODES = ("replay", "long", "listen")


def _modes(text: str) -> list[str]:
    """--modes: a comma-separated list of MODES, checked before Xvfb or PulseAudio start."""
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"{'unknown mode ' + repr(unknown[0]) if unknown else 'no mode'} in "
                                         f"{text!r} (one or more of {', '.join(MODES)}, separated by commas)")
    return modes


def _measure(app, window, seconds: float) -> dict:
    from PySide6.QtCore import QTimer

    tick_times: list[float] = []
    original_tick = window.tick

    def timed_tick() -> None:
        t0 = time.perf_counter()
        original_tick()
        tick_times.append(time.perf_counter() - t0)

    window.timer.timeout.disconnect()
    window.timer.timeout.connect(timed_tick)
    state: dict = {}

    def pipeline_cpu() -> float:
        import psutil  # the test extra's (checked in main)

        thread = getattr(window.engine.pipeline, "_thread", None)
        tid = getattr(thread, "native_id", None)
        for t in psutil.Process().threads():
            if t.id == tid:
                return t.user_time + t.system_time
        return 0.0

    def begin() -> None:
        tick_times.clear()
        state.update(pipeline=pipeline_cpu(),paints=window.paint_counter.count, refreshed=window.frames_refreshed,
                     wall=time.monotonic(), thread=time.thread_time(), process=time.process_time())

    def end() -> None:
        wall = time.monotonic() - state["wall"]
        ticks = np.array(tick_times) * 1000.0
        state.update(
            fps=(window.paint_counter.count - state["paints"]) / wall,
            refresh=(window.frames_refreshed - state["refreshed"]) / wall,
            tick_mean_ms=float(ticks.mean()) if ticks.size else 0.0,
            tick_p95_ms=float(np.percentile(ticks, 95)) if ticks.size else 0.0,
            gui_cpu=100.0 * (time.thread_time() - state["thread"]) / wall,
            process_cpu=100.0 * (time.process_time() - state["process"]) / wall,
            pipeline_cpu=100.0 * (pipeline_cpu() - state["pipeline"]) / wall,
            seconds=wall,
            utterances=len(window.timeline_model.final_events()),
        )
        app.quit()

    QTimer.singleShot(int(WARMUP_S * 1000), begin)
    QTimer.singleShot(int((WARMUP_S + seconds) * 1000), end)
    app.exec()
    window.timer.timeout.disconnect()
    window.timer.timeout.connect(original_tick)
    return state


def _window(app, tmp: Path, model):
    from realtime_ser.resources import DEMO_PATH
    from realtime_ser.gui.main_window import MainWindow
    from realtime_ser.gui.settings import GuiSettings
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH

    window = MainWindow(model, str(DEFAULT_MODEL_PATH), GuiSettings(tmp / "gui.ini"), demo_path=DEMO_PATH,
                        sessions_dir=tmp / "sessions", realtime_replay=True)
    window.setGeometry(0, 0, 1366, 768)
    window.show()
    return window


def bench_replay(app, tmp: Path, model, seconds: float) -> dict:
    window = _window(app, tmp, model)
    window.play_demo()
    result = _measure(app, window, seconds)
    window.close()
    return result


def bench_long(app, tmp: Path, model, seconds: float, n_history: int = 5000) -> dict:
    """Replay, with the timeline already holding a long session (~3 h) of earlier results."""
    from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent

    window = _window(app, tmp, model)
    window.play_demo()
    rng = np.random.default_rng(0)
    labels = list(model.labels)
    for i in range(n_history):  # synthetic earlier utterances, 2 s long every 2.2 s, before t = 0
        uid = -(i + 1)
        start = -2.2 * (i + 1)
        probs = rng.dirichlet(np.ones(len(labels)))
        top = labels[int(np.argmax(probs))]
        window.timeline_model.add_speech(SpeechEvent("start", start, uid))
        window.timeline_model.add_emotion(EmotionEvent(uid, start, start + 2.0, top, top, float(probs.max()),
                                                       dict(zip(labels, map(float, probs))), True))
    result = _measure(app, window, seconds)
    result["bands"] = window.timeline.band_count()
    window.close()
    return result


def bench_listen(app, tmp: Path, model, seconds: float, pulse) -> dict:
    from realtime_ser.resources import DEMO_PATH

    window = _window(app, tmp, model)
    if not window.start_microphone("pulse"):
        raise SystemExit("bench_gui: cannot capture from the virtual microphone")
    players: list[subprocess.Popen] = []

    def keep_playing() -> None:  # the demo into the virtual mic, over and over
        if not players or players[-1].poll() is not None:
            players.append(pulse.play(DEMO_PATH))

    from PySide6.QtCore import QTimer

    feeder = QTimer()
    feeder.timeout.connect(keep_playing)
    feeder.start(200)
    keep_playing()
    try:
        result = _measure(app, window, seconds)
    finally:
        feeder.stop()
        for p in players:
            if p.poll() is None:
                p.terminate()
                p.wait(5)
    window.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench_gui", __doc__.splitlines()[0])
    parser.add_argument("--seconds", type=positive_number, default=20.0, help="measured seconds per mode")
    parser.add_argument("--modes", type=_modes, default="replay,listen", help=f"comma-separated: {', '.join(MODES)}")
    args = parser.parse_args(argv)
    modes = args.modes
    from realtime_ser.errors import SerError
    from realtime_ser.model.emotion_model import EmotionModel

    try:  # before Xvfb and PulseAudio start: psutil missing, a missing or damaged bundled model is one line
        require_benchmark_extra()
        if "listen" in modes:
            from tools.virtual_mic import require_programs

            require_programs()
        model = EmotionModel.load()
    except SerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    pulse = None
    if "listen" in modes:
        from tools.virtual_mic import PulseServer  # the private PulseAudio daemon the tests use too

        pulse = PulseServer(Path(tempfile.mkdtemp(prefix="rtser-bench-pulse-")))
    try:
        if pulse is not None:  # in the try: a daemon that fails to start leaves no folder behind either
            pulse.start()
            os.environ["PULSE_SERVER"] = pulse.server  # before PortAudio is initialised
        with tempfile.TemporaryDirectory() as tmp, xvfb_display(1366, 768):
            os.environ["REALTIME_SER_CONFIG_DIR"] = tmp
            from PySide6.QtWidgets import QApplication

            app = QApplication([sys.argv[0]])
            results = {}
            for mode in modes:
                if mode == "replay":
                    results[mode] = bench_replay(app, Path(tmp), model, args.seconds)
                elif mode == "long":
                    results[mode] = bench_long(app, Path(tmp), model, args.seconds)
                elif mode == "listen":
                    results[mode] = bench_listen(app, Path(tmp), model, args.seconds, pulse)
                else:
                    raise SystemExit(f"bench_gui: unknown mode {mode!r}")
    finally:
        if pulse is not None:
            pulse.stop()
            shutil.rmtree(pulse.root, ignore_errors=True)

    print(f"GUI benchmark: Xvfb 1366x768 software rendering, {os.cpu_count()} CPU cores, {args.seconds:.0f} s per mode")
    print(f"{'mode':<8}{'fps':>7}{'refresh/s':>11}{'tick ms (mean/p95)':>21}{'GUI CPU':>10}{'pipeline CPU':>14}"
          f"{'process CPU':>13}{'utterances':>12}")
    ok = True
    for mode, r in results.items():
        print(f"{mode:<8}{r['fps']:>7.1f}{r['refresh']:>11.1f}{r['tick_mean_ms']:>12.1f} / {r['tick_p95_ms']:<6.1f}"
              f"{r['gui_cpu']:>9.1f}%{r['pipeline_cpu']:>13.1f}%{r['process_cpu']:>12.1f}%{r['utterances']:>12d}")
        ok &= r["fps"] >= 25.0 and r["gui_cpu"] <= 25.0
    print("GUI targets (>= 25 fps, GUI thread <= 25 % of one core):", "met" if ok else "NOT met")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other processes share these cores)")
    return 0 if ok else 1  # a check, like soak: a missed target is a non-zero exit


if __name__ == "__main__":
    sys.exit(main())
