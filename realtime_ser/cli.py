"""Headless command line: ``realtime-ser devices | listen | analyze | sessions``.

Every SerError becomes one line on stderr and a non-zero exit code, never a
traceback.  ``analyze`` keeps going past bad files and exits 1 if any failed, or
if no input held speech (each such input gets a warning line saying why).
``listen`` and ``analyze`` read the user's settings file, as the app does.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import select
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

# Every matrix this program multiplies is tiny; OpenBLAS worker threads would only spin
# between calls (the GUI measured ~7 % of a core for nothing). Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from realtime_ser.atomic_file import write_text_atomic  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402

PROG = "realtime-ser"
log = logging.getLogger(__name__)
EXIT_ERROR = 1
EXIT_USAGE = 2


def _err(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


# -- devices --------------------------------------------------------------------------------


def cmd_devices(args) -> int:
    from realtime_ser.audio.sources import list_devices

    devices = list_devices()
    if not devices:
        _err("no audio devices found (no sound card, or no audio server running)")
        return EXIT_ERROR
    print(f"{'idx':>3}  {'in':>2} {'out':>3}  {'rate':>6}  {'host API':<12} name")
    for d in devices:
        mark = "*" if d.is_default_input else " "
        print(
            f"{d.index:>3}{mark} {d.max_input_channels:>2} {d.max_output_channels:>3}  "
            f"{d.default_samplerate:>6.0f}  {d.hostapi:<12} {d.name}"
        )
    if not any(d.is_input for d in devices):
        _err("none of these devices can capture audio (no input channels)")
        return EXIT_ERROR
    return 0


# -- listen ---------------------------------------------------------------------------------


def _format_event(ev) -> str | None:
    if ev.type == "speech":
        return f"[{ev.time:8.2f}] speech {ev.kind:<5} #{ev.utterance_id}"
    if ev.type == "emotion":
        kind = "FINAL  " if ev.final else "partial"
        extra = f"  (top {ev.top_label})" if ev.uncertain else ""
        lat = f"  latency {ev.latency_ms:.0f} ms" if ev.final and ev.latency_ms is not None else ""
        return (
            f"[{ev.end:8.2f}] {kind} #{ev.utterance_id} {ev.label:<10} {ev.confidence:5.2f}"
            f"  ({ev.start:.2f}-{ev.end:.2f} s){extra}{lat}"
        )
    if ev.type == "marker":
        return f"[{ev.time:8.2f}] marker {ev.marker_id}" + (f": {ev.note}" if ev.note else "")
    return f"[{ev.time:8.2f}] {ev.level}: {ev.message}"


#: A longer "line" on stdin is cut here (``listen < /dev/zero`` must not eat all memory).
MAX_NOTE_BYTES = 64 * 1024


def _in_background(fd: int) -> bool:
    try:
        return os.tcgetpgrp(fd) != os.getpgrp()
    except OSError:  # a terminal that is not our controlling one: no job control to respect
        return False


def _read_note_lines(on_line) -> None:
    """Call ``on_line(text)`` for every line on stdin that ends with Enter, until EOF (thread body).

    Reads the file descriptor, not ``sys.stdin``: a daemon thread blocked in
    ``sys.stdin.readline()`` holds the buffer's lock, which can abort the interpreter's
    shutdown.  On a terminal it reads only while in the foreground: a background job
    (``listen &``) reading its terminal would be stopped by SIGTTIN, or take lines typed
    for the shell.  Any problem just ends reading; listening goes on.
    """
    try:
        fd = sys.stdin.fileno()
        job_control = os.isatty(fd) and hasattr(os, "tcgetpgrp")
        pending = b""
        while True:
            if job_control:
                if _in_background(fd):
                    time.sleep(0.5)
                    continue
                select.select([fd], [], [])
                if _in_background(fd):  # moved to the background while waiting: not ours
                    continue
            data = os.read(fd, 4096)
            if not data:
                return  # EOF: stdin closed, /dev/null, Ctrl-D
            *lines, pending = (pending + data).split(b"\n")
            pending = pending[:MAX_NOTE_BYTES]
            for line in lines:
                on_line(line[:MAX_NOTE_BYTES].decode("utf-8", "replace").strip())
    except Exception as exc:  # no stdin (pythonw), a closed or odd descriptor: no markers, that's all
        log.debug("reading notes from stdin stopped: %r", exc)


def _load_settings(args):
    """User settings from the config file (``--config`` or the platform default); warnings to stderr."""
    from realtime_ser.config import load_with_warnings

    settings, warnings = load_with_warnings(getattr(args, "config", None))
    for warning in warnings:
        _warn(warning)
    return settings


def _pipeline_config(settings, args):
    """The settings' pipeline configuration with this run's ``--threshold-db`` / ``--confidence``."""
    config = settings.pipeline_config()
    if args.threshold_db is not None:
        config.vad.threshold_db = args.threshold_db
    if args.confidence is not None:
        config.confidence_threshold = args.confidence
    return config


def _setting_value(name: str):
    """An argparse type: a number the setting ``name`` allows (the ranges config.json is held to)."""
    from realtime_ser.config import check_setting

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        problem = check_setting(name, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, not {text}")
        return value

    return parse


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Model, VAD threshold, confidence and settings file: the same for listen and analyze."""
    p.add_argument("--model", help="TFLite model (default: model_path of the settings, else the bundled "
                                   "models/ser_int8.tflite)")
    p.add_argument("--threshold-db", type=_setting_value("vad_threshold_db"),
                   help="VAD threshold above the noise floor in dB; lower finds quieter speech "
                        "(default: vad_threshold_db of the settings, 12)")
    p.add_argument("--confidence", type=_setting_value("confidence_threshold"),
                   help="below this confidence the label is 'uncertain' (default: confidence_threshold "
                        "of the settings, 0.4)")
    p.add_argument("--config", metavar="FILE", help="settings file (default: the platform config folder)")


def _repair_sessions(folder: Path) -> None:
    """Repair sessions a killed earlier run left behind, before recording new ones."""
    from realtime_ser.session import repair_interrupted

    for report in repair_interrupted(folder):
        print(f"{PROG}: {report.summary()}", file=sys.stderr, flush=True)


def cmd_listen(args) -> int:
    from realtime_ser.audio.sources import FileSource, MicrophoneSource
    from realtime_ser.model.emotion_model import EmotionModel
    from realtime_ser.pipeline.events import MarkerEvent
    from realtime_ser.pipeline.worker import Pipeline

    settings = _load_settings(args)
    if args.title and args.record is None and not settings.record_sessions:
        raise SerError("--title names a recorded session: use it with --record")
    model = EmotionModel.load(args.model or settings.model_path)
    config = _pipeline_config(settings, args)
    if args.replay:
        source = FileSource(args.replay, realtime=True, speed=args.speed)
    else:
        source = MicrophoneSource(args.device if args.device is not None else settings.device)
    record_dir = None
    if args.record is not None or settings.record_sessions:
        record_dir = Path(args.record) if args.record else settings.session_path
        _repair_sessions(record_dir)
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else None
    except OSError as exc:
        raise SerError(f"{args.output}: cannot write output ({exc.strerror})") from None
    pipeline = Pipeline(source, model, config)
    recorder = None
    if record_dir is not None:
        from realtime_ser.session import SessionRecorder

        recorder = SessionRecorder(
            record_dir, model.params.sample_rate, source.name, model.metadata, settings,
            on_error=lambda msg: _err(msg), title=args.title,
        )
        pipeline.add_audio_listener(recorder.write_audio)
        pipeline.add_event_listener(recorder.write_event)
    finals: list = []
    markers = 0
    markers_open = True  # closed before the output file is: a late line must not write into it
    lock = threading.RLock()  # add_marker holds it around on_event

    def on_event(ev) -> None:
        nonlocal out
        with lock:
            if args.partials or ev.type != "emotion" or ev.final:
                line = _format_event(ev)
                if line:
                    print(line, flush=True)
            if out is not None:
                try:
                    out.write(json.dumps(ev.to_dict()) + "\n")
                    out.flush()
                except OSError as exc:  # disk full: stop writing, keep listening
                    _err(f"{args.output}: writing stopped ({exc.strerror})")
                    out = None
            if ev.type == "emotion" and ev.final:
                finals.append(ev)

    def add_marker(note: str) -> None:
        """A line typed on stdin: a marker at the current stream time, through the events' path."""
        nonlocal markers
        with lock:
            if not markers_open:
                return
            markers += 1
            ev = MarkerEvent(markers, pipeline.stats.stream_time, note)
            if recorder is not None:
                recorder.write_event(ev)
            on_event(ev)

    pipeline.add_event_listener(on_event)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if recorder is not None:
            folder = recorder.start()
            print(f"recording session to {folder}", file=sys.stderr, flush=True)
        pipeline.start()
        on_terminal = _stdin_is_terminal()
        # Piped stdin only when asked: in a script (`while read f; do ... listen; done < list`)
        # it is someone else's input, and reading it would silently eat it.
        if on_terminal or args.notes_from_stdin:
            threading.Thread(target=_read_note_lines, args=(add_marker,), name="realtime-ser-notes",
                             daemon=True).start()
        hint = "type a note + Enter to mark a moment, " if on_terminal else ""
        print(f"listening on {source.name} ({hint}Ctrl-C to stop)", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        while not stop.is_set() and pipeline.running:
            if args.duration is not None and time.monotonic() - t0 >= args.duration:
                break
            stop.wait(0.05)
    finally:
        with lock:
            markers_open = False
        pipeline.stop()
        if recorder is not None and recorder.recording:
            recorder.stop()
        signal.signal(signal.SIGINT, previous)
        if out is not None:
            out.close()
    _print_summary(pipeline.stats, finals, markers)
    if recorder is not None and recorder.folder is not None:
        print(f"session saved: {recorder.folder}", file=sys.stderr, flush=True)
    if pipeline.error:
        _err(pipeline.error)
        return EXIT_ERROR
    return 0


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def _print_summary(stats, finals, markers: int = 0) -> None:
    counts = Counter(ev.label for ev in finals)
    lat = [ev.latency_ms for ev in finals if ev.latency_ms is not None]
    lines = [
        "--- summary ---",
        f"audio: {stats.stream_time:.1f} s, utterances: {len(finals)}",
        "emotions: " + (", ".join(f"{k} {v}" for k, v in counts.most_common()) or "none"),
        f"dropped samples: {stats.dropped_samples}, overruns: {stats.overruns}",
    ]
    if lat:
        lines.append(f"final-event latency: mean {sum(lat) / len(lat):.0f} ms, max {max(lat):.0f} ms")
    if markers:
        lines.append(f"markers: {markers}")
    print("\n".join(lines), file=sys.stderr, flush=True)


# -- analyze --------------------------------------------------------------------------------


def session_audio(path: Path, markers: dict[str, list[dict]] | None = None) -> Path | None:
    """Hook for session folders: the recording inside, or None if ``path`` is not a session.

    Raises SessionError (reported like a bad file) for a session folder that cannot be read.
    """
    try:
        from realtime_ser.session import Session, is_session_folder
    except ImportError:  # sessions are optional for analysis
        return None
    if not is_session_folder(path):
        return None
    session = Session.open(path)
    for warning in session.warnings:  # skipped event lines, a stale audio header: worth knowing
        _warn(warning)
    if markers is not None:  # kept for the timeline, from this same reading of the event log
        markers[str(path)] = [m.to_dict() for m in session.markers]
    return Path(session.audio_path)


def merge_markers(events: list[dict], markers: list[dict]) -> list[dict]:
    """``events`` (an analysis, in order) with ``markers`` (sorted) put where they happened.

    An event counts at the stream time it was emitted (an emotion result at its
    utterance's end), as in ``listen --output``; the analysis keeps its own order.
    """
    merged: list[dict] = []
    pending = list(markers)
    for ev in events:
        t = ev.get("time", ev.get("end"))
        while pending and isinstance(t, (int, float)) and pending[0]["time"] < t:
            merged.append(pending.pop(0))
        merged.append(ev)
    return merged + pending


def collect_inputs(paths: list[str], markers: dict[str, list[dict]] | None = None
                   ) -> list[tuple[str, Path | None, str | None]]:
    """Expand arguments into ``(display name, audio path or None, error or None)``.

    A session folder's stored markers go into ``markers`` under its display name.
    """
    from realtime_ser.audio.io import is_audio_file

    items: list[tuple[str, Path | None, str | None]] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            try:
                audio = session_audio(p, markers)
            except SerError as exc:
                items.append((str(p), None, str(exc)))
                continue
            if audio is not None:
                items.append((str(p), audio, None))
                continue
            found = sorted(f for f in p.rglob("*") if f.is_file() and is_audio_file(f))
            if not found:
                items.append((str(p), None, f"{p}: no audio files in this folder"))
            items.extend((str(f), f, None) for f in found)
        elif not p.exists():
            items.append((str(p), None, f"{p}: no such file"))
        else:
            items.append((str(p), p, None))
    return items


_WORKER_MODEL = None


def _init_worker(model_path):
    global _WORKER_MODEL
    from realtime_ser.model.emotion_model import EmotionModel

    _WORKER_MODEL = EmotionModel.load(model_path)


def _analyze_one(task):
    """Worker-process entry: returns (index, rows or None, error or None, seconds of audio)."""
    index, path, config, include_partials = task
    from realtime_ser.audio.io import audio_duration
    from realtime_ser.pipeline.worker import analyze_file

    try:
        events = analyze_file(path, _WORKER_MODEL, config, include_partials=include_partials)
        return index, [ev.to_dict() for ev in events], None, audio_duration(path)
    except SerError as exc:
        return index, None, str(exc), 0.0
    except (OSError, MemoryError) as exc:
        return index, None, f"{path}: {type(exc).__name__}: {exc}", 0.0


def cmd_analyze(args) -> int:
    from tqdm import tqdm

    settings = _load_settings(args)
    model_path = args.model or settings.model_path
    config = _pipeline_config(settings, args)
    markers: dict[str, list[dict]] = {}
    items = collect_inputs(args.inputs, markers)
    tasks = [(i, str(p), config, args.partials) for i, (_, p, err) in enumerate(items) if err is None]
    results: dict[int, tuple] = {}
    durations: dict[int, float] = {}  # seconds of audio per input
    warnings: list[str] = []
    failed: dict[int, str] = {i: err for i, (_, _, err) in enumerate(items) if err is not None}
    for i in sorted(failed):
        _err(failed[i])

    jobs = args.jobs if args.jobs and args.jobs > 0 else (os.cpu_count() or 1)
    if args.jobs == 0 and len(tasks) < SERIAL_BELOW:
        jobs = 1  # starting worker processes costs more than a few files take
    jobs = min(jobs, max(1, len(tasks)))
    if args.progress == "auto":
        hide = len(tasks) < 2 or not sys.stderr.isatty()
    else:
        hide = args.progress == "off"
    bar = tqdm(total=len(tasks), unit="file", disable=hide, file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        if jobs <= 1:
            _init_worker(model_path)
            iterator = map(_analyze_one, tasks)
            pool = None
        else:
            from realtime_ser.model.emotion_model import EmotionModel

            EmotionModel.load(model_path)  # fail fast on a bad model before spawning workers
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(jobs, initializer=_init_worker, initargs=(model_path,))
            iterator = pool.imap_unordered(_analyze_one, tasks, chunksize=4)
        for index, rows, error, seconds in iterator:
            if error is not None:
                failed[index] = error
                bar.clear()
                _err(error)
            else:
                results[index] = merge_markers(rows, markers.get(items[index][0], []))
                durations[index] = seconds
                for row in rows:  # "no speech found: ..." (in JSON/JSONL too, as a status event)
                    if row.get("type") == "status":
                        warnings.append(f"{items[index][0]}: {row['message']}")
                        if len(items) > 1:
                            bar.clear()
                            _warn(warnings[-1])
            bar.update(1)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()

    if not results:  # every input failed: an empty timeline must not replace an earlier --output
        _err(f"all {len(items)} inputs failed; nothing written" if len(items) > 1 else "nothing written")
        return EXIT_ERROR
    if not any(row.get("type") in ("emotion", "marker") for rows in results.values() for row in rows):
        # silent, or speech too quiet for the VAD, everywhere (the warnings above say why for each)
        _err("no speech found in any input; nothing written" if len(items) > 1
             else (warnings or ["no speech found"])[0] + "; nothing written")
        return EXIT_ERROR
    if len(items) == 1:
        for warning in warnings:
            _warn(warning)
    if args.format == "summary":
        text = render_summary(items, results, durations)
    else:
        text = render_timeline(items, results, failed, args.format)
    if args.output:
        try:
            write_text_atomic(args.output, text)
        except OSError as exc:
            raise SerError(f"{args.output}: cannot write output ({exc.strerror})") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if failed:
        _err(f"{len(failed)} of {len(items)} inputs failed")
        return EXIT_ERROR
    return 0


#: With the default ``--jobs 0``, batches smaller than this run in this process.
SERIAL_BELOW = 8

CSV_FIELDS = ["file", "utterance_id", "start", "end", "label", "top_label", "confidence", "final"]


def render_timeline(items, results: dict, failed: dict, fmt: str) -> str:
    """The analysis result as CSV (one row per emotion event or marker), JSON or JSONL."""
    buf = io.StringIO()
    if fmt == "json":
        doc = []
        for i, (name, _, _) in enumerate(items):
            entry = {"file": name}
            if i in failed:
                entry["error"] = failed[i]
            else:
                entry["events"] = results.get(i, [])
            doc.append(entry)
        json.dump(doc, buf, indent=1)
        buf.write("\n")
        return buf.getvalue()
    if fmt == "jsonl":
        for i, (name, _, _) in enumerate(items):
            if i in failed:
                buf.write(json.dumps({"file": name, "type": "error", "message": failed[i]}) + "\n")
                continue
            for ev in results.get(i, []):
                buf.write(json.dumps({"file": name, **ev}) + "\n")
        return buf.getvalue()
    labels = _model_labels(results)
    writer = csv.writer(buf, lineterminator="\n")
    # "note" (a marker's) goes last, so that the earlier columns keep their places
    writer.writerow(CSV_FIELDS + [f"p_{name}" for name in labels] + ["note"])
    for i, (name, _, _) in enumerate(items):
        for ev in results.get(i, []):
            if ev.get("type") == "marker":  # a moment, not a result: only its time and note
                t = f"{ev['time']:.3f}"
                writer.writerow([name, "", t, t, "marker", "", "", ""] + [""] * len(labels) + [ev["note"]])
            if ev.get("type") != "emotion":
                continue
            writer.writerow(
                [name, ev["utterance_id"], f"{ev['start']:.3f}", f"{ev['end']:.3f}", ev["label"], ev["top_label"],
                 f"{ev['confidence']:.4f}", int(ev["final"])]
                + [f"{ev['probabilities'].get(k, 0.0):.4f}" for k in labels]
                + [""]
            )
    return buf.getvalue()


def _model_labels(results: dict) -> list[str]:
    """The model's classes, in its order (the keys of any result's probabilities)."""
    for rows in results.values():
        for ev in rows:
            if ev.get("type") == "emotion":
                return list(ev["probabilities"])
    return []


SUMMARY_FIELDS = ["file", "audio_s", "utterances", "speech_s", "markers"]


def render_summary(items, results: dict, durations: dict) -> str:
    """One CSV row per readable input: how long, how much speech, and the seconds of speech per
    final label (as the app's *This session* and ``sessions`` count them), largest shares last."""
    from realtime_ser.pipeline.events import UNCERTAIN, event_from_dict
    from realtime_ser.pipeline.summary import describe_shares, speech_time_by_label

    labels = _model_labels(results) + [UNCERTAIN]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_FIELDS + [f"{label}_s" for label in labels] + ["shares"])
    for i, (name, _, _) in enumerate(items):
        if i not in results:
            continue
        finals = [event_from_dict(ev) for ev in results[i] if ev.get("type") == "emotion" and ev["final"]]
        seconds = dict(speech_time_by_label(finals))
        markers = sum(ev.get("type") == "marker" for ev in results[i])
        writer.writerow([name, f"{durations.get(i, 0.0):.2f}", len(finals), f"{sum(seconds.values()):.2f}", markers]
                        + [f"{seconds.get(label, 0.0):.2f}" for label in labels] + [describe_shares(finals)])
    return buf.getvalue()


# -- entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from realtime_ser import __version__

    parser = argparse.ArgumentParser(prog=PROG, description="Live speech emotion recognition (headless).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("devices", help="list audio devices (* = default input)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("listen", help="print emotion events live from a microphone")
    p.add_argument("--device", "-d", help="input device index or name (default: system default)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--output", "-o", help="also write every event to this JSONL file")
    _add_pipeline_options(p)
    p.add_argument("--partials", action="store_true", help="also print partial results")
    p.add_argument("--replay", metavar="FILE", help="replay an audio file in real time instead of a microphone")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed factor (with --replay)")
    p.add_argument(
        "--record", nargs="?", const="", default=None, metavar="DIR",
        help="record a session folder (audio + events) into DIR (default: the configured session folder)",
    )
    p.add_argument("--title", help="a name for the recorded session, shown by 'sessions' and the app "
                                   "(e.g. \"P07 baseline\"; with --record)")
    p.add_argument("--notes-from-stdin", action="store_true",
                   help="read marker notes from stdin even when it is not a terminal (a pipe, a file)")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("analyze", help="emotion timeline of audio files, folders or session folders")
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR")
    p.add_argument("--format", "-f", choices=["csv", "json", "jsonl", "summary"], default="csv",
                   help="the timeline (csv: one row per utterance; json; jsonl: one event per line), or "
                        "summary: one CSV row per input with its seconds of speech per emotion")
    p.add_argument("--output", "-o", help="write the timeline here instead of stdout")
    _add_pipeline_options(p)
    p.add_argument("--jobs", "-j", type=int, default=0,
                   help="worker processes (default 0 = all cores for batches of 8 files or more)")
    p.add_argument("--partials", action="store_true", help="include partial results (speech start/end events are always in JSON/JSONL)")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto", help="progress bar on stderr")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("sessions", help="list recorded sessions (when, length, status, how the speech sounded)")
    p.add_argument("folder", nargs="?", metavar="DIR", help="sessions folder (default: the configured one)")
    p.add_argument("--format", "-f", choices=["table", "json"], default="table")
    p.add_argument("--config", metavar="FILE", help="settings file (default: the platform config folder)")
    p.set_defaults(func=cmd_sessions)
    return parser


# -- sessions -------------------------------------------------------------------------------


def cmd_sessions(args) -> int:
    """List recorded sessions, oldest first: when, how long, how it ended, how it sounded."""
    from realtime_ser.pipeline.summary import format_time
    from realtime_ser.session.catalog import catalog

    folder = Path(args.folder) if args.folder else _load_settings(args).session_path
    if not folder.is_dir():
        if args.folder:
            raise SerError(f"{folder}: no such folder")
        print(f"no sessions recorded yet ({folder} does not exist)", file=sys.stderr)
        return 0
    rows, errors = catalog(folder)
    for error in errors:
        _err(error)
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in rows], indent=1, ensure_ascii=False))
    elif not rows and not errors:
        print(f"no sessions in {folder}", file=sys.stderr)
    elif rows:
        width = max(len("folder"), *(len(Path(r.folder).name) for r in rows))
        titled = any(r.title for r in rows)  # a title column only where someone named a session
        title_width = max([len("title")] + [len(r.title or "") for r in rows]) if titled else 0
        title_head = f"{'title':<{title_width}}  " if titled else ""
        print(f"{'started':<16}  {'length':>7}  {'status':<9}  {'utt':>4}  {'marks':>5}  {title_head}"
              f"{'folder':<{width}}  speech sounded")
        for r in rows:
            title = f"{r.title or '-':<{title_width}}  " if titled else ""
            print(f"{r.started_short:<16}  {format_time(r.duration_s)[:-2]:>7}  {r.status:<9}  {r.utterances:>4}  "
                  f"{r.markers:>5}  {title}{Path(r.folder).name:<{width}}  {r.emotions}")
    return EXIT_ERROR if errors else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SerError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
