"""Headless command line: ``realtime-ser devices | listen | analyze | sessions``.

Every SerError becomes one line on stderr and a non-zero exit code, never a
traceback; a UsageError (options that do not fit together) exits 2, as argparse
does.  ``analyze`` keeps going past bad files and exits 1 if any failed, or
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

from realtime_ser.atomic_file import check_writable, open_for_writing, write_text_atomic  # noqa: E402
from realtime_ser.console import StdoutCheckingParser, non_negative_whole, number_arg, positive_number  # noqa: E402
from realtime_ser.console import write_stdout as _print  # noqa: E402
from realtime_ser.errors import SerError  # noqa: E402
from realtime_ser.native_stderr import native_stderr_hidden_for_process  # noqa: E402

PROG = "realtime-ser"
log = logging.getLogger(__name__)
EXIT_ERROR = 1
EXIT_USAGE = 2


def _err(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


class UsageError(SerError):
    """Options that do not fit together or a value argparse cannot check alone: exit 2, like argparse."""


def _write_output(path: str, text: str | None = None) -> None:
    """Replace the ``--output`` file with ``text``; with None only check that it could be (before
    a long analysis). Either way a problem is the same one line."""
    try:
        if text is None:
            check_writable(path)
        else:
            write_text_atomic(path, text)
    except OSError as exc:
        raise SerError(f"{path}: cannot write output ({exc.strerror or exc})") from None


# -- devices --------------------------------------------------------------------------------


def cmd_devices(args) -> int:
    from realtime_ser.audio.sources import list_devices

    devices = list_devices()
    if not devices:
        _err("no audio devices found (no sound card, or no audio server running)")
        return EXIT_ERROR
    _print(f"{'idx':>3}  {'in':>2} {'out':>3}  {'rate':>6}  {'host API':<12} name")
    for d in devices:
        mark = "*" if d.is_default_input else " "
        # --device system; an audio server's input by the name that does not change (pulse:SOURCE)
        index = d.index if d.pulse_source is None else "sys" if d.spec == d.name else "-"
        name = d.name if d.spec == d.name else f"{d.name}  [{d.spec}]"
        _print(
            f"{index:>3}{mark} {d.max_input_channels:>2} {d.max_output_channels:>3}  "
            f"{d.default_samplerate:>6.0f}  {d.hostapi:<12} {name}"
        )
    if not any(d.is_input for d in devices):
        _err("none of these devices can capture audio (no input channels)")
        return EXIT_ERROR
    return 0


# -- listen ---------------------------------------------------------------------------------


def _format_event(ev) -> str | None:
    """One line of ``listen``'s output. A confidence is rounded down, as the app shows it: 0.397
    reads 0.39 next to the uncertain it is labelled at ``--confidence 0.4``, not 0.40."""
    from realtime_ser.pipeline.smoothing import round_down

    if ev.type == "speech":
        return f"[{ev.time:8.2f}] speech {ev.kind:<5} #{ev.utterance_id}"
    if ev.type == "emotion":
        kind = "FINAL  " if ev.final else "partial"
        extra = f"  (top {ev.top_label})" if ev.uncertain else ""
        lat = f"  latency {ev.latency_ms:.0f} ms" if ev.final and ev.latency_ms is not None else ""
        return (
            f"[{ev.end:8.2f}] {kind} #{ev.utterance_id} {ev.label:<10} {round_down(ev.confidence, 2):5.2f}"
            f"  ({ev.start:.2f}-{ev.end:.2f} s){extra}{lat}"
        )
    if ev.type == "marker":
        return f"[{ev.time:8.2f}] marker {ev.marker_id}" + (f": {ev.note}" if ev.note else "")
    return f"[{ev.time:8.2f}] {ev.level}: {_with_option_named(ev.message)}"


def _with_option_named(message: str) -> str:
    """A no-speech message's advice in this front end's terms: the option that sets the threshold."""
    from realtime_ser.dsp.vad import LOWER_THRESHOLD

    return message.replace(LOWER_THRESHOLD, "a lower --threshold-db")


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


#: The settings an option replaces for one run, when given: ``(option, setting, given(args))``.
#: A bad value of such a setting in the config file is then a warning, not an error (it is not
#: used).  A bare ``--record`` replaces only the switch; ``--record DIR`` the folder too.  An option
#: a command does not have is never given (analyze has no --device).
SETTING_OVERRIDES = (
    ("--model", "model_path", lambda args: bool(getattr(args, "model", None))),
    ("--threshold-db", "vad_threshold_db", lambda args: getattr(args, "threshold_db", None) is not None),
    ("--confidence", "confidence_threshold", lambda args: getattr(args, "confidence", None) is not None),
    ("--device", "device", lambda args: getattr(args, "device", None) is not None),
    ("--replay", "device", lambda args: bool(getattr(args, "replay", None))),  # no microphone
    ("--record", "record_sessions", lambda args: getattr(args, "record", None) is not None),
    ("--record DIR", "session_dir", lambda args: bool(getattr(args, "record", None))),
)


#: The settings each command reads; a bad value of any other is a warning for it, not an error
#: (`analyze` must not fail on a bad default microphone).  `sessions` reads only the folder.
SETTINGS_READ = {
    "listen": None,  # all of them
    "analyze": ("vad_threshold_db", "confidence_threshold", "smoothing", "partial_interval_s",
                "max_utterance_s", "model_path"),
    "sessions": ("session_dir",),
}


def _unused_settings(args) -> dict[str, str]:
    """``{setting: why this run does not use it}``: an option given in ``args`` replaces it, or the
    command does not read it."""
    import dataclasses

    from realtime_ser.config import Settings

    unused: dict[str, str] = {}
    for option, setting, given in SETTING_OVERRIDES:
        if given(args):
            unused.setdefault(setting, f"{option} overrides it")
    command = getattr(args, "command", None)
    read = SETTINGS_READ.get(command)
    if read is not None:
        for field in dataclasses.fields(Settings):
            if field.name not in read:
                unused.setdefault(field.name, f"`{command}` does not use it")
    return unused


def _load_settings(args):
    """User settings from the config file (``--config`` or the platform default); warnings to stderr."""
    from realtime_ser.config import load_with_warnings

    settings, warnings = load_with_warnings(getattr(args, "config", None), unused=_unused_settings(args))
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


#: --jobs: a whole number >= 0 (0 = choose by the batch size)
channel_number = number_arg(int, "a channel number", lambda v: v >= 1, "a channel number >= 1")
CHANNEL_HELP = ("use this channel alone (1 = left, 2 = right, ...) instead of mixing them all: one side "
                "of a call, one speaker's microphone")


def _load_model(args, settings):
    """The model named by --model, else by the settings' model_path, else the bundled one.

    A folder is called a folder, and a bad model_path names the settings file it came from:
    that file, not the command line, is what the user has to fix.
    """
    from realtime_ser.config import default_config_path
    from realtime_ser.errors import ModelError
    from realtime_ser.model.emotion_model import EmotionModel

    path = args.model or settings.model_path
    try:
        if path and Path(path).is_dir():
            raise ModelError(f"{path}: is a directory, not a model file")
        return EmotionModel.load(path)
    except SerError as exc:
        if args.model or not settings.model_path:
            raise
        raise ModelError(f"{exc} (model_path in {args.config or default_config_path()})") from None


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Model, VAD threshold, confidence and settings file: the same for listen and analyze."""
    p.add_argument("--model", metavar="FILE", help="TFLite model (default: model_path of the settings, else "
                                                   "the bundled models/ser_int8.tflite)")
    p.add_argument("--threshold-db", type=_setting_value("vad_threshold_db"), metavar="DB",
                   help="VAD threshold above the noise floor in dB; lower finds quieter speech "
                        "(default: vad_threshold_db of the settings, 12)")
    p.add_argument("--confidence", type=_setting_value("confidence_threshold"), metavar="P",
                   help="below this confidence the label is 'uncertain' (default: confidence_threshold "
                        "of the settings, 0.4)")
    p.add_argument("--config", metavar="FILE", help="settings file (default: the platform config folder)")


def _repair_sessions(folder: Path) -> None:
    """Repair sessions a killed earlier run left behind, before recording new ones."""
    from realtime_ser.session import repair_interrupted

    for report in repair_interrupted(folder):
        print(f"{PROG}: {report.summary()}", file=sys.stderr, flush=True)


def _check_title_length(title: str | None) -> None:
    """A --title longer than a session stores is refused, not cut: the user would not know what was kept."""
    from realtime_ser.session.format import MAX_TITLE_CHARS

    length = len(" ".join((title or "").split()))  # as the session stores it: one line, trimmed
    if length > MAX_TITLE_CHARS:
        raise UsageError(f"--title is {length} characters long; at most {MAX_TITLE_CHARS} are allowed")


def _check_listen_options(args, settings) -> None:
    """Options that do nothing in this combination are refused before anything starts."""
    if args.speed is not None and not args.replay:
        raise UsageError("--speed sets the pace of a replay: use it with --replay")
    if args.device is not None and args.replay:
        raise UsageError("--device picks a microphone: a replay (--replay) does not use one")
    if args.title and args.record is None and not settings.record_sessions:
        raise UsageError("--title names a recorded session: use it with --record")
    _check_title_length(args.title)


def _listen_source(args, settings):
    """The microphone, or the --replay file paced in real time; a session folder replays its
    recording, as ``analyze`` and the app take it, with its markers (returned, in time order)."""
    from realtime_ser.audio.sources import FileSource, MicrophoneSource
    from realtime_ser.pipeline.events import MarkerEvent

    if not args.replay:
        source = MicrophoneSource(args.device if args.device is not None else settings.device, channel=args.channel)
        return source, []
    path = Path(args.replay)
    stored: dict[str, list[dict]] = {}
    audio = session_audio(path, stored) if path.is_dir() else None
    source = FileSource(audio or path, realtime=True, speed=args.speed or 1.0, channel=args.channel)
    if audio is not None:
        source.name = path.resolve().name  # the session, not its "audio.wav"
    markers = [MarkerEvent(m["marker_id"], m["time"], m.get("note", "")) for m in stored.get(str(path), [])]
    return source, sorted(markers, key=lambda m: m.time)


def _start_listening(pipeline, recorder) -> None:
    """Start the session recorder, then the input; if the input cannot open, the recorder removes
    the session folder again (only if nothing reached it): ``sessions`` would list it as empty."""
    if recorder is None:
        pipeline.start()
        return
    folder = recorder.start()
    try:
        pipeline.start()
    except SerError:
        recorder.discard()
        raise
    print(f"recording session to {folder}", file=sys.stderr, flush=True)


def _wait_until_done(pipeline, stop: threading.Event, args, tick) -> None:
    """Until Ctrl-C, the end of a replay, or --duration: seconds of audio, which for a microphone
    is seconds of listening (counted on the clock: a lost device delivers no audio) and for a
    replay is seconds of the file, whatever --speed. ``tick()`` is called on every check."""
    t0 = time.monotonic()
    while not stop.is_set() and pipeline.running:
        tick()
        if args.duration is not None:
            done = pipeline.stats.stream_time if args.replay else time.monotonic() - t0
            if done >= args.duration:
                break
        stop.wait(0.01 if args.replay else 0.05)


def cmd_listen(args) -> int:
    from realtime_ser.pipeline.events import MarkerEvent
    from realtime_ser.pipeline.worker import Pipeline

    settings = _load_settings(args)
    _check_listen_options(args, settings)
    model = _load_model(args, settings)
    config = _pipeline_config(settings, args)
    source, stored_markers = _listen_source(args, settings)
    record_dir = None
    if args.record is not None or settings.record_sessions:
        record_dir = Path(args.record) if args.record else settings.session_path
        _repair_sessions(record_dir)
    if _named_format(args.output) in ("csv", "json"):
        _warn(f"{args.output}: writing JSONL (one event per line, as listen always does), "
              f"not the {_named_format(args.output).upper()} its name suggests")
    try:
        out = open_for_writing(args.output) if args.output else None
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
    markers = 0  # shown in the summary: the replayed session's and the ones typed
    last_marker_id = max((m.marker_id for m in stored_markers), default=0)  # typed ones are numbered on
    markers_open = True  # closed before the output file is: a late line must not write into it
    lock = threading.RLock()  # add_marker holds it around on_event
    stop = threading.Event()
    stdout_failed: list[BaseException] = []  # a full disk or closed pipe behind stdout ends listening

    def on_event(ev) -> None:
        nonlocal out
        with lock:
            if ev.type == "emotion" and ev.final:
                finals.append(ev)
            # the error that stops the pipeline is reported once, as the last line on stderr
            fatal = ev.type == "status" and ev.level == "error" and ev.message == pipeline.error
            if (args.partials or ev.type != "emotion" or ev.final) and not fatal and not stdout_failed:
                line = _format_event(ev)
                try:
                    if line:
                        _print(line)
                except (SerError, BrokenPipeError) as exc:
                    stdout_failed.append(exc)
                    stop.set()
            if out is not None:
                try:
                    out.write(json.dumps(ev.to_dict()) + "\n")
                    out.flush()
                except OSError as exc:  # disk full: stop writing, keep listening
                    _err(f"{args.output}: writing stopped ({exc.strerror})")
                    out = None

    def add_marker(note: str) -> None:
        """A line typed on stdin: a marker at the current stream time, through the events' path."""
        nonlocal last_marker_id
        with lock:
            if markers_open:
                last_marker_id += 1
                mark(MarkerEvent(last_marker_id, pipeline.stats.stream_time, note))

    def mark(ev) -> None:
        nonlocal markers
        with lock:
            markers += 1
            if recorder is not None:
                recorder.write_event(ev)
            on_event(ev)

    def replay_markers() -> None:
        """A replayed session's markers, each once the replay reaches its moment (as the app shows them)."""
        with lock:
            while stored_markers and markers_open and stored_markers[0].time <= pipeline.stats.stream_time:
                mark(stored_markers.pop(0))

    pipeline.add_event_listener(on_event)
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _start_listening(pipeline, recorder)
        on_terminal = _stdin_is_terminal()
        # Piped stdin only when asked: in a script (`while read f; do ... listen; done < list`)
        # it is someone else's input, and reading it would silently eat it.
        if on_terminal or args.notes_from_stdin:
            threading.Thread(target=_read_note_lines, args=(add_marker,), name="realtime-ser-notes",
                             daemon=True).start()
        hint = "type a note + Enter to mark a moment, " if on_terminal else ""
        print(f"listening on {source.name} ({hint}Ctrl-C to stop)", file=sys.stderr, flush=True)
        _wait_until_done(pipeline, stop, args, replay_markers)
    finally:
        replay_markers()  # those the replay reached in its last moments
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
    if stdout_failed:
        raise stdout_failed[0]
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
    if not _is_session(path):
        return None
    from realtime_ser.session import Session

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


def _is_session(path: Path) -> bool:
    """A session folder is analysed as one recording (markers, its name), not as loose audio; so is
    one named like a session, so that a missing manifest is its error rather than passed over."""
    try:
        from realtime_ser.session.reader import is_session_folder, named_like_session
    except ImportError:  # sessions are optional for analysis
        return False
    return is_session_folder(path) or named_like_session(path)


def _folder_contents(folder: Path) -> list[tuple[Path, bool]]:
    """``(path, is a session folder)`` for the audio files and session folders anywhere under
    ``folder``, in path order; a session folder's own files are not searched (it is one input)."""
    from realtime_ser.audio.io import is_audio_file

    found: list[tuple[Path, bool]] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        sessions = {d for d in dirs if _is_session(here / d)}
        dirs[:] = [d for d in dirs if d not in sessions]
        found += [(here / d, True) for d in sessions]
        found += [(here / f, False) for f in files if is_audio_file(f) and (here / f).is_file()]
    return sorted(found)


def _session_input(folder: Path, markers) -> tuple[str, Path | None, str | None]:
    """A session folder as one input: its recording, with its markers kept for the timeline."""
    try:
        return str(folder), session_audio(folder, markers), None
    except SerError as exc:
        return str(folder), None, str(exc)


def _file_input(path: Path, markers) -> tuple[str, Path | None, str | None]:
    """A plain audio file as one input, with the marks the app keeps for it (set while replaying it
    there; the file itself is never written to) kept for the timeline."""
    if markers is not None:
        from realtime_ser.session.file_marks import default_marks_dir, load_marks

        kept = load_marks(default_marks_dir(), path).markers  # none for a file changed since
        if kept:
            markers[str(path)] = [m.to_dict() for m in kept]
    return str(path), path, None


def _expand(p: Path, markers) -> list[tuple[str, Path | None, str | None]]:
    """One command-line argument as ``(display name, audio path or None, error or None)`` items."""
    if not p.is_dir():
        return [_file_input(p, markers) if p.exists() else (str(p), None, f"{p}: no such file")]
    if _is_session(p):
        return [_session_input(p, markers)]
    found = _folder_contents(p)
    if not found:
        return [(str(p), None, f"{p}: no audio files in this folder")]
    return [_session_input(f, markers) if session else _file_input(f, markers) for f, session in found]


def collect_inputs(paths: list[str], markers: dict[str, list[dict]] | None = None
                   ) -> list[tuple[str, Path | None, str | None]]:
    """Expand arguments into ``(display name, audio path or None, error or None)``.

    A session folder, named or found in a folder, is one input: its stored markers go into
    ``markers`` under its display name, as do the marks the app keeps for a plain file.  An input
    met twice (the same file twice, a file and a folder holding it) is analysed once, where it
    first appears.
    """
    items: list[tuple[str, Path | None, str | None]] = []
    given: set[Path] = set()
    found: set[Path] = set()
    for arg in paths:
        if Path(arg).resolve() in given:  # a repeated argument is not even opened again
            continue
        given.add(Path(arg).resolve())
        for name, audio, error in _expand(Path(arg), markers):
            key = (audio or Path(name)).resolve()
            if key not in found:
                found.add(key)
                items.append((name, audio, error))
    return items


_WORKER_MODEL = None


def _use_model(model) -> None:
    """The model _analyze_one uses in this process."""
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _init_worker(model_path):
    from realtime_ser.model.emotion_model import EmotionModel

    _use_model(EmotionModel.load(model_path))


def _analyze_one(task):
    """Worker-process entry: returns (index, rows or None, error or None, seconds of audio)."""
    index, path, config, include_partials, channel = task
    from realtime_ser.audio.io import audio_duration
    from realtime_ser.pipeline.worker import analyze_file

    try:
        events = analyze_file(path, _WORKER_MODEL, config, include_partials=include_partials, channel=channel)
        return index, [ev.to_dict() for ev in events], None, audio_duration(path)
    except SerError as exc:
        return index, None, str(exc), 0.0
    except (OSError, MemoryError) as exc:
        return index, None, f"{path}: {type(exc).__name__}: {exc}", 0.0


#: The formats an --output file's extension names.
FORMAT_EXTENSIONS = ("csv", "json", "jsonl")


def _named_format(output: str | None) -> str | None:
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMAT_EXTENSIONS else None


def _output_format(args) -> str:
    """-f if given (with a warning where the --output file's extension names another format, as a
    reader of ``out.json`` would expect JSON), else what the extension says, else CSV."""
    named = _named_format(args.output)
    if args.format:
        written = "csv" if args.format == "summary" else args.format
        if named is not None and named != written:
            _warn(f"{args.output}: writing {args.format.upper()} (--format {args.format}), "
                  f"not the {named.upper()} its name suggests")
        return args.format
    return named or "csv"


def cmd_analyze(args) -> int:
    from tqdm import tqdm

    settings = _load_settings(args)
    fmt = _output_format(args)
    if args.output:  # before the analysis, which can take long: not to fail only at the end
        _write_output(args.output)
    model = _load_model(args, settings)  # a bad model fails before any input is read
    config = _pipeline_config(settings, args)
    markers: dict[str, list[dict]] = {}
    items = collect_inputs(args.inputs, markers)
    tasks = [(i, str(p), config, args.partials, args.channel) for i, (_, p, err) in enumerate(items) if err is None]
    results: dict[int, tuple] = {}
    durations: dict[int, float] = {}  # seconds of audio per input
    warnings: list[str] = []
    failed: dict[int, str] = {i: err for i, (_, _, err) in enumerate(items) if err is not None}
    batch = len(items) > 1  # one input's failure is said once, at the end, as one line
    for i in sorted(failed):
        if batch:
            _err(failed[i])

    jobs = args.jobs or (os.cpu_count() or 1)
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
            _use_model(model)
            iterator = map(_analyze_one, tasks)
            pool = None
        else:
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(jobs, initializer=_init_worker, initargs=(model.source,))
            iterator = pool.imap_unordered(_analyze_one, tasks, chunksize=4)
        for index, rows, error, seconds in iterator:
            if error is not None:
                failed[index] = error
                if batch:
                    bar.clear()
                    _err(error)
            else:
                results[index] = merge_markers(rows, markers.get(items[index][0], []))
                durations[index] = seconds
                for row in rows:  # "no speech found: ..." (in JSON/JSONL too, as a status event)
                    if row.get("type") == "status":
                        warnings.append(f"{items[index][0]}: {_with_option_named(row['message'])}")
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
        _err(f"all {len(items)} inputs failed; nothing written" if batch else f"{failed[0]}; nothing written")
        return EXIT_ERROR
    if not any(row.get("type") in ("emotion", "marker") for rows in results.values() for row in rows):
        # silent, or speech too quiet for the VAD, everywhere (the warnings above say why for each)
        _err("no speech found in any input; nothing written" if len(items) > 1
             else (warnings or ["no speech found"])[0] + "; nothing written")
        return EXIT_ERROR
    if len(items) == 1:
        for warning in warnings:
            _warn(warning)
    if fmt == "summary":
        text = render_summary(items, results, durations)
    else:
        text = render_timeline(items, results, failed, fmt)
    if args.output:
        _write_output(args.output, text)
    else:
        _print(text, end="")
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

class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal as usual; the examples epilog kept line by line."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


#: Examples at the end of each command's --help (README's "Command line" has more).
EPILOGS = {
    "main": """examples:
  realtime-ser listen                          live, from the default microphone
  realtime-ser analyze interview.m4a -o interview.csv
  realtime-ser sessions                        what was recorded
  realtime-ser COMMAND --help                  each command's options""",
    "devices": """examples:
  realtime-ser devices
  realtime-ser listen --device 3               then listen on input number 3""",
    "listen": """examples:
  realtime-ser listen --device "USB" --record --title "P07 baseline"
  realtime-ser listen --device system          the other side of a call (what this computer plays)
  realtime-ser listen --device 3 --channel 2   input 2 of an audio interface
  realtime-ser listen --replay session-folder/ --speed 4 --duration 60""",
    "analyze": """examples:
  realtime-ser analyze interview.m4a                      CSV timeline on stdout
  realtime-ser analyze recordings/ -o timeline.json       a folder, as JSON (the format follows -o)
  realtime-ser analyze recordings/ --format summary       one row per file: speech per emotion
  realtime-ser analyze call.wav --channel 2               the right channel alone""",
    "sessions": """examples:
  realtime-ser sessions
  realtime-ser sessions ~/sessions/2026-11-24T09-30-00_session --title "P07 baseline"
  realtime-ser analyze SESSION_FOLDER          its timeline, markers included""",
}


def build_parser() -> argparse.ArgumentParser:
    from realtime_ser import __version__

    parser = StdoutCheckingParser(prog=PROG, description="Live speech emotion recognition (headless); "
                                  "realtime-ser-gui is the desktop app.", epilog=EPILOGS["main"],
                                  formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str):
        """A subcommand: ``summary`` in the command list, ``description`` and examples in its --help."""
        return sub.add_parser(name, help=summary, description=description, epilog=EPILOGS.get(name),
                              formatter_class=_HelpFormatter)

    p = command("devices", "list audio devices (* = default input)",
                "List the audio devices and inputs --device can name: by number, by name (or a unique part "
                "of it), 'system' (what this computer plays) or, on Linux, pulse:SOURCE.")
    p.set_defaults(func=cmd_devices)

    p = command("listen", "print emotion events live from a microphone",
                "Print each utterance's emotion as it is heard, from a microphone (or --replay a recording "
                "paced like one); Ctrl-C prints a summary. A line typed on the terminal marks that moment.")
    p.add_argument("--device", "-d", help="input device number, name or a unique part of it (default: the system "
                                           "default; see `realtime-ser devices`); 'system' records what this "
                                           "computer plays (a call's other side), 'pulse:SOURCE' one "
                                           "PulseAudio/PipeWire source")
    p.add_argument("--duration", type=positive_number, metavar="SECONDS",
                   help="stop after this many seconds of audio: of listening for a microphone, of the file "
                        "for a replay (--replay --speed 4 --duration 60 takes 15 s)")
    p.add_argument("--output", "-o", metavar="FILE", help="also write every event to this JSONL file")
    _add_pipeline_options(p)
    p.add_argument("--partials", action="store_true", help="also print partial results")
    p.add_argument("--channel", type=channel_number, metavar="N",
                   help="of a multi-channel input or --replay file, " + CHANNEL_HELP)
    p.add_argument("--replay", metavar="FILE|DIR",
                   help="replay an audio file or a recorded session folder in real time instead of a microphone")
    p.add_argument("--speed", type=positive_number, metavar="X",
                   help="replay speed factor, > 0 (with --replay; default 1 = real time)")
    p.add_argument(
        "--record", nargs="?", const="", default=None, metavar="DIR",
        help="record a session folder (audio + events) into DIR (default: the configured session folder)",
    )
    p.add_argument("--title", help="a name for the recorded session, shown by 'sessions' and the app "
                                   "(e.g. \"P07 baseline\"; with --record)")
    p.add_argument("--notes-from-stdin", action="store_true",
                   help="read marker notes from stdin even when it is not a terminal (a pipe, a file)")
    p.set_defaults(func=cmd_listen)

    p = command("analyze", "emotion timeline of audio files, folders or session folders",
                "Run recordings through the same path as the microphone (voice activity -> utterances -> "
                "model) as fast as the CPU allows, and write their emotion timeline or a summary.")
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                   help="audio files (WAV, FLAC, MP3, M4A, a video's sound...), folders searched for them, "
                        "or recorded session folders")
    p.add_argument("--format", "-f", choices=["csv", "json", "jsonl", "summary"],
                   help="the timeline (csv: one row per utterance; json; jsonl: one event per line), or "
                        "summary: one CSV row per input with its seconds of speech per emotion (default: "
                        "from the --output file's extension .csv, .json or .jsonl, else csv)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the timeline here instead of stdout")
    _add_pipeline_options(p)
    p.add_argument("--jobs", "-j", type=non_negative_whole, default=0, metavar="N",
                   help="worker processes (default 0 = all cores for batches of 8 files or more)")
    p.add_argument("--partials", action="store_true", help="include partial results (speech start/end events are always in JSON/JSONL)")
    p.add_argument("--channel", type=channel_number, metavar="N", help="of each input, " + CHANNEL_HELP)
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto", help="progress bar on stderr")
    p.set_defaults(func=cmd_analyze)

    p = command("sessions", "list recorded sessions (when, length, status, how the speech sounded); "
                            "rename one with --title",
                "List the sessions recorded by `listen --record` or the app, oldest first: when each "
                "started, how long it is, how it ended, and its share of speech per emotion.")
    p.add_argument("folder", nargs="?", metavar="DIR",
                   help="sessions folder (default: the configured one), or one session's folder")
    p.add_argument("--format", "-f", choices=["table", "json"], default="table",
                   help="a table for people (default) or JSON for programs")
    p.add_argument("--title", help="rename the session DIR, then show it (e.g. \"P07 baseline\"; \"\" removes "
                                   "its title); not while it is being recorded")
    p.add_argument("--config", metavar="FILE", help="settings file (default: the platform config folder)")
    p.set_defaults(func=cmd_sessions)
    return parser


# -- sessions -------------------------------------------------------------------------------


def cmd_sessions(args) -> int:
    """List recorded sessions, oldest first: when, how long, how it ended, how it sounded.

    With --title, first rename the one session named (as the app does), then show its row.
    """
    from realtime_ser.pipeline.summary import format_time
    from realtime_ser.session.catalog import catalog

    if args.title is not None:
        if not args.folder:  # never a guess at which session of the configured folder was meant
            raise UsageError("--title renames one session: name its folder (sessions SESSION_FOLDER --title TEXT)")
        _check_title_length(args.title)
    folder = Path(args.folder) if args.folder else _load_settings(args).session_path
    if not folder.is_dir():
        if args.folder:
            raise SerError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        print(f"no sessions recorded yet ({folder} does not exist)", file=sys.stderr)
        return 0
    if args.title is not None:
        from realtime_ser.session.annotate import set_title

        set_title(folder, args.title)  # not a session, or one being recorded: its one-line SessionError
    rows, errors = _one_session(folder) if _is_session(folder) else catalog(folder)
    for error in errors:
        _err(error)
    if args.format == "json":
        _print(json.dumps([r.to_dict() for r in rows], indent=1, ensure_ascii=False))
    elif not rows and not errors:
        print(f"no sessions in {folder}", file=sys.stderr)
    elif rows:
        width = max(len("folder"), *(len(Path(r.folder).name) for r in rows))
        titled = any(r.title for r in rows)  # a title column only where someone named a session
        title_width = max([len("title")] + [len(r.title or "") for r in rows]) if titled else 0
        title_head = f"{'title':<{title_width}}  " if titled else ""
        _print(f"{'started':<19}  {'length':>7}  {'status':<11}  {'utt':>4}  {'marks':>5}  {title_head}"
              f"{'folder':<{width}}  speech sounded")
        for r in rows:
            title = f"{r.title or '-':<{title_width}}  " if titled else ""
            _print(f"{r.started_short:<19}  {format_time(r.duration_s)[:-2]:>7}  {r.status:<11}  {r.utterances:>4}  "
                  f"{r.markers:>5}  {title}{Path(r.folder).name:<{width}}  {r.emotions}")
    return EXIT_ERROR if errors else 0


def _one_session(folder: Path):
    """``sessions SESSION_FOLDER``: that session's row, as catalog() gives rows for a parent."""
    from realtime_ser.session.catalog import summarize

    try:
        return [summarize(folder)], []
    except SerError as exc:
        return [], [str(exc)]


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # --help and --version print here, through _print
        with native_stderr_hidden_for_process():
            return int(args.func(args) or 0)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except SerError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
