"""``realtime-ser listen``: emotion events live from a microphone (or a replay paced like one),
optionally recorded as a session, with markers typed on the terminal."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import stat
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from realtime_ser.atomic_file import open_for_writing
from realtime_ser.cli.common import (
    EXIT_ERROR, PROG, UsageError, check_title_length, load_model, load_settings, named_format, path_problem,
    pipeline_config, print_error, print_warning, with_option_named, write_output,
)
from realtime_ser.cli.inputs import check_output_replaces_no_input, is_session, not_audio, open_session
from realtime_ser.cli.piped import STDIN, is_piped
from realtime_ser.cli.replay_marks import ReplayMarks
from realtime_ser.console import one_line
from realtime_ser.console import write_stdout as _print
from realtime_ser.errors import SerError
from realtime_ser.session.format import named_session_folder, truncate_to_last_line

log = logging.getLogger(__name__)


#: ``--record`` given without a folder: record into the settings' session folder.  Not a string, so
#: argparse does not take it for a path; ``--record ''`` is an empty path, a usage error.
RECORD_INTO_SETTINGS_FOLDER = object()


def format_event(ev) -> str | None:
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
        note = one_line(ev.note)  # never a terminal escape sequence, whatever the note holds
        return f"[{ev.time:8.2f}] marker {ev.marker_id}" + (f": {note}" if note else "")
    return f"[{ev.time:8.2f}] {ev.level}: {with_option_named(ev.message)}"


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


def _repair_sessions(folder: Path) -> None:
    """Repair sessions a killed earlier run left behind, before recording new ones."""
    from realtime_ser.session import repair_interrupted

    for report in repair_interrupted(folder):
        print(f"{PROG}: {report.summary()}", file=sys.stderr, flush=True)


def _records(args, settings) -> bool:
    """Whether this run records a session: with --record, or with record_sessions for a live input (a
    microphone, the computer's sound, a piped stream). A replay is recorded only when asked, as in the
    app: replaying a session folder would otherwise make a copy of it every time."""
    return args.record is not None or (settings.record_sessions and not args.replay)


def _check_listen_options(args, settings) -> None:
    """Options that do nothing in this combination are refused before anything starts."""
    if args.speed is not None and not args.replay:
        raise UsageError("--speed sets the pace of a replay: use it with --replay")
    if args.device is not None and args.replay:
        raise UsageError("--device picks a microphone: a replay (--replay) does not use one")
    if args.raw is not None and args.device != STDIN:
        raise UsageError("--raw gives the layout of a stream on stdin: use it with --device -")
    if args.device == STDIN and args.notes_from_stdin:
        raise UsageError("--device - reads audio from stdin, so notes cannot come from it (--notes-from-stdin)")
    if args.replay and is_piped(args.replay):  # decoders seek: a pipe must be copied whole first, so not live
        raise UsageError(f"--replay {args.replay}: a replay reads a file, not a pipe; "
                         "analyse piped audio with `realtime-ser analyze -`")
    if args.title and not _records(args, settings):
        raise UsageError("--title names a recorded session: use it with --record")
    check_title_length(args.title)


def _listen_source(args, settings):
    """The microphone, or the --replay file paced in real time; a session folder replays its
    recording, as ``analyze`` and the app take it.  Returned with the replayed recording's markers
    (:class:`ReplayMarks`: none for a live input)."""
    from realtime_ser.audio.file_source import FileSource
    from realtime_ser.audio.pipe_source import PipeSource
    from realtime_ser.audio.sources import MicrophoneSource

    if args.device == STDIN:  # a WAV stream from another program: live, like a microphone
        if sys.stdin is None:
            raise SerError("--device -: there is no standard input to read")
        if _nothing_arrives(sys.stdin.fileno()):  # said as `analyze -` says it, not "not a WAV stream"
            raise SerError(f"{STDIN}: nothing arrived through standard input")
        return PipeSource(sys.stdin.fileno(), channel=args.channel, max_seconds=args.duration,
                          raw=args.raw), ReplayMarks()
    if not args.replay:
        source = MicrophoneSource(args.device if args.device is not None else settings.device, channel=args.channel)
        return source, ReplayMarks()
    path = Path(args.replay)
    folder = named_session_folder(path)
    if folder is not None and folder != path and is_session(folder):  # its manifest or event log, as the app takes
        path = folder
    problem = path_problem(path)
    if problem:
        raise SerError(f"{path}: {problem}")
    problem = not_audio(path)
    if problem:
        raise SerError(problem)
    session = open_session(path) if path.is_dir() else None
    if session is None:
        return FileSource(path, realtime=True, speed=args.speed or 1.0, channel=args.channel), ReplayMarks.of_file(path)
    source = FileSource(session.audio_path, realtime=True, speed=args.speed or 1.0, channel=args.channel)
    source.name = path.resolve().name  # the session, not its "audio.wav"
    return source, ReplayMarks.of_session(path, session)


def _nothing_arrives(fd: int) -> bool:
    """True when standard input ends before its first byte: an empty pipe or file (``true | listen
    --device -``).  Waits for that first byte or the end, as reading the stream's header would."""
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return os.lseek(fd, 0, os.SEEK_CUR) >= st.st_size
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat(os.devnull).st_rdev:
            return True  # `< /dev/null`
        if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
            return False  # a terminal (refused as such), a device: the stream's reader says what it is
        import fcntl
        import termios

        poll = select.poll()
        poll.register(fd, select.POLLIN | select.POLLPRI)
        poll.poll()  # readable: bytes came, or the writer closed its end
        waiting = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, waiting)
        return int.from_bytes(waiting, sys.byteorder) == 0
    except (OSError, ValueError, ImportError, AttributeError):
        return False  # cannot tell: the stream's reader finds out


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
    if pipeline.source.name != recorder.device_name:  # a microphone is named once it is open
        try:
            recorder.set_device(pipeline.source.name)
        except SerError as exc:  # the recording goes on; the manifest keeps the name it had
            print_warning(str(exc))
    print(f"recording session to {folder}", file=sys.stderr, flush=True)


def _wait_until_done(pipeline, stop: threading.Event, args, tick) -> None:
    """Until Ctrl-C, the end of a replay or a stream, or --duration: seconds of audio, which for a
    microphone is seconds of listening (counted on the clock: a lost device delivers no audio) and for a
    replay or a piped stream is seconds of its audio, whatever --speed. ``tick()`` is called on every check."""
    t0 = time.monotonic()
    by_audio = args.replay or args.device == STDIN
    while not stop.is_set() and pipeline.running:
        tick()
        if args.duration is not None:
            done = pipeline.stats.stream_time if by_audio else time.monotonic() - t0
            if done >= args.duration:
                break
        stop.wait(0.01 if args.replay else 0.05)


def cmd_listen(args) -> int:
    from realtime_ser.pipeline.events import MarkerEvent
    from realtime_ser.pipeline.worker import Pipeline

    settings = load_settings(args)
    _check_listen_options(args, settings)
    model = load_model(args, settings)
    config = pipeline_config(settings, args)
    source, replayed = _listen_source(args, settings)
    stored_markers = list(replayed.stored)  # shown as the replay reaches them
    record_dir = None
    if _records(args, settings):
        record_dir = settings.session_path if args.record in (None, RECORD_INTO_SETTINGS_FOLDER) else Path(args.record)
        problem = path_problem(record_dir)
        if problem:
            raise SerError(f"{record_dir}: cannot record sessions there ({problem})")
        # a session inside a session (or deeper in one) would be found by nothing
        holder = next((p for p in [record_dir, *record_dir.resolve().parents] if is_session(p)), None)
        if holder is not None:
            where = "is a recorded session" if holder == record_dir else f"is inside the recorded session {holder}"
            raise SerError(f"{record_dir}: {where}; record into the folder that holds it ({holder.resolve().parent})")
        _repair_sessions(record_dir)
    if named_format(args.output) in ("csv", "json"):
        print_warning(f"{args.output}: writing JSONL (one event per line, as listen always does), "
              f"not the {named_format(args.output).upper()} its name suggests")
    if args.output:
        check_output_replaces_no_input(args.output, [Path(args.replay)] if args.replay else [])
        write_output(args.output)  # checked now; opened (emptied) only once there is something to write
    out = None
    output_open = False  # a run that fails before its first event leaves an earlier file as it was
    failed: list[str] = []  # output or recording that stopped on an error: the run's exit code says so
    pipeline = Pipeline(source, model, config)
    recorder = None
    if record_dir is not None:
        from realtime_ser.session import SessionRecorder

        def recording_failed(message: str) -> None:
            failed.append(message)
            print_error(message)

        recorder = SessionRecorder(
            record_dir, model.params.sample_rate, source.name, model.metadata, settings,
            on_error=recording_failed, title=args.title,
        )
        pipeline.add_audio_listener(recorder.write_audio)
        pipeline.add_event_listener(recorder.write_event)
    finals: list = []
    markers = 0  # shown in the summary: the replayed session's and the ones typed
    last_marker_id = replayed.last_marker_id  # typed ones are numbered on
    # a typed marker is kept in the recording being made, else with the replayed recording (as in the app)
    keeps_typed = recorder is None and bool(replayed.kept_where)
    markers_open = True  # closed before the output file is: a late line must not write into it
    lock = threading.RLock()  # add_marker holds it around on_event
    stop = threading.Event()
    stdout_failed: list[BaseException] = []  # a full disk or closed pipe behind stdout ends listening

    def on_event(ev) -> None:
        nonlocal out, output_open
        with lock:
            if ev.type == "emotion" and ev.final:
                finals.append(ev)
            # the error that stops the pipeline is reported once, as the last line on stderr
            fatal = ev.type == "status" and ev.level == "error" and ev.message == pipeline.error
            if (args.partials or ev.type != "emotion" or ev.final) and not fatal and not stdout_failed:
                line = format_event(ev)
                try:
                    if line:
                        _print(line)
                except (SerError, BrokenPipeError) as exc:
                    stdout_failed.append(exc)
                    stop.set()
            if args.output and not output_open:
                output_open = True
                out = _open_output(args.output, failed)
            if out is not None:
                try:
                    out.write(json.dumps(ev.to_dict()) + "\n")
                    out.flush()
                except OSError as exc:  # disk full: stop writing, keep listening
                    message = f"{args.output}: writing stopped ({exc.strerror})"
                    failed.append(message)
                    print_error(message)
                    _end_at_last_line(out, args.output)
                    out = None

    def add_marker(note: str) -> None:
        """A line typed on stdin: a marker at the current stream time, through the events' path."""
        nonlocal last_marker_id
        with lock:
            if markers_open:
                last_marker_id += 1
                marker = MarkerEvent(last_marker_id, round(pipeline.stats.stream_time, 3), note)
                if keeps_typed:
                    try:
                        marker = replayed.keep(marker)
                        last_marker_id = marker.marker_id
                    except SerError as exc:
                        message = f"marker {marker.marker_id} is not saved: {exc}"
                        failed.append(message)
                        print_error(message)
                mark(marker)

    def mark(ev) -> None:
        nonlocal markers
        with lock:
            markers += 1
            if recorder is not None:
                recorder.write_event(ev)
            on_event(ev)

    note_taker = [add_marker]  # emptied when listening ends (see the notes thread)

    def replay_markers() -> None:
        """A replayed session's markers, each once the replay reaches its moment (as the app shows them)."""
        with lock:
            while stored_markers and markers_open and stored_markers[0].time <= pipeline.stats.stream_time:
                mark(stored_markers.pop(0))

    pipeline.add_event_listener(on_event)
    # Ctrl-C, SIGTERM and a closed terminal or ssh connection (SIGHUP) all end the run as cleanly; the
    # caller's handlers come back afterwards (main() may be called from Python).
    stopping = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in stopping}
    started = False
    try:
        _start_listening(pipeline, recorder)
        started = True
        on_terminal = _stdin_is_terminal()
        # Piped stdin only when asked: in a script (`while read f; do ... listen; done < list`)
        # it is someone else's input, and reading it would silently eat it.
        if on_terminal or args.notes_from_stdin:
            # The thread outlives the run (it waits on stdin): it must not keep the pipeline alive at
            # exit through add_marker, or the extension objects it holds are reported as leaked.
            threading.Thread(target=_read_note_lines, args=(lambda text: note_taker and note_taker[0](text),),
                             name="realtime-ser-notes", daemon=True).start()
        kept = f", {replayed.kept_where};" if keeps_typed else ","
        hint = f"type a note + Enter to mark a moment{kept} " if on_terminal else ""
        print(f"listening on {source.name} ({hint}Ctrl-C to stop)", file=sys.stderr, flush=True)
        _wait_until_done(pipeline, stop, args, replay_markers)
    finally:
        if started:
            replay_markers()  # those the replay reached in its last moments
        with lock:
            markers_open = False
            note_taker.clear()
        device_gone = None if pipeline.error else pipeline.input_fault  # asked before stopping it
        pipeline.stop()
        if recorder is not None and recorder.recording:
            recorder.stop(input_error=pipeline.error or device_gone)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        with lock:
            if started and args.output and not output_open and not pipeline.error:
                output_open = True
                out = _open_output(args.output, failed)  # a run without events: an empty file says so
            if out is not None:
                out.close()
                out = None  # an event of a worker that outlived its stop is not written to a closed file
    _print_summary(pipeline.stats, finals, markers)
    if recorder is not None and recorder.folder is not None and recorder.folder.is_dir():
        print(f"session saved: {recorder.folder}", file=sys.stderr, flush=True)
    if stdout_failed:
        raise stdout_failed[0]
    if pipeline.error:
        print_error(pipeline.error)
        return EXIT_ERROR
    if device_gone:  # listening ended with the input unplugged: not a clean run
        print_error(device_gone)
        return EXIT_ERROR
    return EXIT_ERROR if failed else 0


def _open_output(path: str, failed: list[str]):
    """``--output`` opened for writing (emptied), or None after saying why (the run goes on)."""
    try:
        return open_for_writing(path)
    except OSError as exc:
        message = f"{path}: cannot write output ({exc.strerror or exc})"
        failed.append(message)
        print_error(message)
        return None


def _end_at_last_line(out, path: str) -> None:
    """Close ``out`` after a write failed and cut the file back to its last complete line: a half-written
    event would make the JSONL file unreadable to whoever reads it line by line."""
    try:
        out.close()  # flushing what is left fails again, but the file is closed all the same
    except OSError:
        pass
    try:
        if stat.S_ISREG(os.stat(path).st_mode):  # not the terminal or a pipe (`--output -`)
            truncate_to_last_line(Path(path))
    except OSError as exc:
        print_warning(f"{path}: its last line may be incomplete ({exc.strerror or exc})")


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
