"""``realtime-ser analyze``: recordings through the microphone's path, as fast as the CPU allows."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from realtime_ser.cli.common import (
    EXIT_ERROR, ending_as_on_ctrl_c, interrupted_exit, load_model, load_settings, named_format, pipeline_config,
    print_error, print_warning, with_option_named, write_output,
)
from realtime_ser.cli.inputs import check_output_replaces_no_input, collect_inputs
from realtime_ser.cli.piped import is_piped
from realtime_ser.cli.render import render_summary, render_timeline
from realtime_ser.console import write_stdout as _print
from realtime_ser.errors import SerError
from realtime_ser.pipeline.table import merge_markers

#: With the default ``--jobs 0``, batches smaller than this run in this process.
SERIAL_BELOW = 8

#: After an interrupt, how long the worker processes get to hand back what the files they were
#: analysing had found (they stop at their next 20 ms block, so this is far more than they need, unless
#: one was killed with its files: then their results never come).
HAND_BACK_SECONDS = 3.0

#: How long ending the worker processes may take before those still there are killed.
END_POOL_SECONDS = 2.0

#: How long a worker's first SIGTERM is put off, for the analysis it stopped to hand its results back.
RESEND_AFTER_SECONDS = 1.0


_WORKER_MODEL = None
# In a worker process: a flag in memory shared with the parent, set when the run is interrupted; whether
# an input is being analysed; and whether SIGTERM came meanwhile (`kill` of the whole process group).
_STOP = None
_ANALYSING = False
_TERMINATED = False


class _Stopped(KeyboardInterrupt):
    """Raised inside a worker's analysis when the run is interrupted: the analysis ends as on Ctrl-C
    (the utterance it cut ends there) and what it found goes back to the parent as a result."""


def _stop_requested() -> bool:
    return _TERMINATED or (_STOP is not None and bool(_STOP.value))


def _use_model(model) -> None:
    """The model _analyze_one uses in this process."""
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _init_worker(model_path, stop):
    global _STOP
    from realtime_ser.model.emotion_model import EmotionModel

    _STOP = stop
    # Ctrl-C reaches the whole process group: the parent ends the batch and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _use_model(EmotionModel.load(model_path))
    # From here on the worker takes tasks from the pool's queue.  SIGTERM (Pool.terminate, or `kill` of
    # the whole group) ends it through an exception, which releases the queue's lock on the way out:
    # a worker killed holding it made Pool.terminate in the parent wait for ever.  Within an analysis,
    # the first SIGTERM stops only that, so what it found reaches the parent (which got SIGTERM too).
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame):
    global _TERMINATED
    if _ANALYSING and not _TERMINATED:
        # The analysis stops at its next block and its results go back; tasks after it are handed back
        # unstarted.  The signal is not dropped but put off: sent again a second later, when the worker
        # waits for its next task, it ends the worker as below (Pool.terminate waits for that).
        _TERMINATED = True
        import threading

        threading.Thread(target=_signal_again, args=(signum, RESEND_AFTER_SECONDS), daemon=True).start()
        return
    _exit_on_signal(signum, frame)


def _signal_again(signum: int, seconds: float) -> None:
    import threading
    import time

    time.sleep(seconds)
    # To the main thread, where Python runs its handlers (sent to the whole process, any thread may take it).
    signal.pthread_kill(threading.main_thread().ident, signum)


def _exit_on_signal(signum, frame):
    import threading

    # Should the exception be swallowed (raised inside a __del__, whose errors are only printed), the
    # worker still ends, a moment later, as SIGTERM's default would have ended it.
    threading.Thread(target=_exit_soon, args=(128 + signum,), daemon=True).start()
    raise SystemExit(128 + signum)


def _exit_soon(code: int) -> None:
    import time

    time.sleep(1.0)
    os._exit(code)


@contextmanager
def _terminal_signals_held():
    """Ctrl-C (SIGINT) and a closed terminal (SIGHUP) held back while the worker processes start: they
    and multiprocessing's resource tracker inherit the mask, so what the terminal sends its whole
    process group reaches only this process, which then ends them (a worker or tracker killed by it
    printed tracebacks).  A signal that came meanwhile is delivered here once the pool exists."""
    held = {signal.SIGINT} | ({signal.SIGHUP} if hasattr(signal, "SIGHUP") else set())
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups to speak of
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _analyze_one(task, on_progress=None):
    """Worker-process entry: returns (index, rows or None, error or None, seconds of audio, cut), where
    ``cut`` says the run's interrupt stopped this input: ``rows`` are then what it found up to there
    (None: it was not started).

    ``on_progress(seconds)``: called as the audio is analysed (one input, in this process)."""
    index, path, config, include_partials, channel = task
    from realtime_ser.pipeline.worker import analyze_file

    global _ANALYSING
    if _stop_requested():  # the run was interrupted before this input's turn
        return index, None, None, 0.0, True
    analysed = [0.0]  # seconds of audio decoded: a header's length can be wrong (a file cut short)

    def progress(seconds: float) -> None:
        analysed[0] += seconds
        if on_progress is not None:
            on_progress(seconds)
        if _stop_requested():  # a read of shared memory: cheap at 50 blocks a second
            raise _Stopped

    _ANALYSING = True
    try:
        events = analyze_file(path, _WORKER_MODEL, config, include_partials=include_partials, channel=channel,
                              on_progress=progress)
        return index, [ev.to_dict() for ev in events], None, analysed[0], False
    except SerError as exc:  # the results before a file's damaged end are kept, with its error
        before = [ev.to_dict() for ev in exc.found_before]
        return index, before if analysed[0] > 0 else None, str(exc), analysed[0], False
    except (OSError, MemoryError) as exc:
        return index, None, f"{path}: {type(exc).__name__}: {exc}", 0.0, False
    except _Stopped as exc:  # in a worker: the parent was interrupted and waits for this
        return index, [ev.to_dict() for ev in getattr(exc, "found_before", ())], None, analysed[0], True
    except KeyboardInterrupt as exc:  # in this process: what was analysed before Ctrl-C goes out with it
        exc.partial = (index, [ev.to_dict() for ev in getattr(exc, "found_before", ())], analysed[0])
        raise
    finally:
        _ANALYSING = False


def _seconds_or_none(path: str) -> float | None:
    """The recording's length for a progress bar; None (a bar without a total) if the header cannot say."""
    from realtime_ser.audio.io import audio_duration

    try:
        return audio_duration(path) or None
    except SerError:  # the analysis itself reports it
        return None


def _output_format(args) -> str:
    """-f if given (with a warning where the --output file's extension names another format, as a
    reader of ``out.json`` would expect JSON), else what the extension says, else CSV."""
    named = named_format(args.output)
    if args.format:
        written = "csv" if args.format == "summary" else args.format
        if named is not None and named != written:
            print_warning(f"{args.output}: writing {args.format.upper()} (--format {args.format}), "
                  f"not the {named.upper()} its name suggests")
        return args.format
    return named or "csv"


def cmd_analyze(args) -> int:
    # SIGTERM and SIGHUP end the run as Ctrl-C does: the copy of piped audio removed, the workers ended.
    with ending_as_on_ctrl_c():
        return _cmd_analyze(args)


def _cmd_analyze(args) -> int:
    settings = load_settings(args)
    fmt = _output_format(args)
    if args.output:  # before the analysis, which can take long: not to fail only at the end
        write_output(args.output)
    model = load_model(args, settings)  # a bad model fails before any input is read
    config = pipeline_config(settings, args)
    if not any(is_piped(arg) for arg in args.inputs):
        return _analyze(args, model, config, fmt, None)
    # Audio from pipes (``-``, ``<(...)``) is copied into a folder of its own for the run.
    try:
        spool = tempfile.TemporaryDirectory(prefix="realtime-ser-", ignore_cleanup_errors=True)
    except OSError as exc:
        print_error(f"cannot make a temporary folder for the piped audio ({exc.strerror or exc}); nothing written")
        return EXIT_ERROR
    with spool as spool_dir:
        return _analyze(args, model, config, fmt, Path(spool_dir))


def _analyze(args, model, config, fmt: str, spool_dir: Path | None) -> int:
    from tqdm import tqdm

    markers: dict[str, list[dict]] = {}
    items = collect_inputs(args.inputs, markers, spool_dir)
    if args.output:
        named = [Path(name) for name, _, _ in items if not is_piped(name)]
        check_output_replaces_no_input(args.output, named + [p for _, p, _ in items if p is not None])
    # An error about a pipe's temporary copy names the pipe, as the user gave it.
    copies = {str(p): name for name, p, err in items if p is not None and p.parent == spool_dir}
    tasks = [(i, str(p), config, args.partials, args.channel) for i, (_, p, err) in enumerate(items) if err is None]
    results: dict[int, tuple] = {}
    durations: dict[int, float] = {}  # seconds of audio per input
    warnings: list[str] = []
    failed: dict[int, str] = {i: err for i, (_, _, err) in enumerate(items) if err is not None}
    batch = len(items) > 1  # one input's failure is said once, at the end, as one line
    for i in sorted(failed):
        if batch:
            print_error(failed[i])

    jobs = args.jobs or (os.cpu_count() or 1)
    if args.jobs == 0 and len(tasks) < SERIAL_BELOW:
        jobs = 1  # starting worker processes costs more than a few files take
    jobs = min(jobs, max(1, len(tasks)))
    hide = args.progress == "off" or (args.progress == "auto" and not sys.stderr.isatty())
    one_input = len(tasks) == 1 and jobs <= 1
    # One recording (an hour-long interview) counts its seconds of audio; a batch counts its files.
    # ``delay``: nothing flashes up for what takes under half a second.
    delay = 0 if args.progress == "on" else 0.5
    if one_input:
        bar = tqdm(total=_seconds_or_none(tasks[0][1]), unit="s", disable=hide, file=sys.stderr, dynamic_ncols=True,
                   leave=False, delay=delay,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio [{elapsed}<{remaining}]")
    else:
        bar = tqdm(total=len(tasks), unit="file", disable=hide, file=sys.stderr, dynamic_ncols=True, leave=False,
                   delay=delay)
    pool = stop = iterator = None
    interrupted: KeyboardInterrupt | None = None
    stopped: set[int] = set()  # inputs the interrupt cut short, with what they had found in ``results``
    taken = [0]  # the tasks' results received

    def take(result) -> None:
        taken[0] += 1
        index, rows, error, seconds, cut = result
        if error is not None:
            path = str(items[index][1])
            failed[index] = error.replace(path, copies[path]) if path in copies else error
            error = failed[index]
            if batch:
                bar.clear()
                print_error(error)
        if cut:  # an input the interrupt cut: what it found up to there; or one it never started
            if rows:
                results[index] = merge_markers(rows, markers.get(items[index][0], []))
                durations[index] = seconds
                stopped.add(index)
            _mark_cut(index, items, durations, stopped, failed, interrupted is not None)
            if batch and interrupted is None:  # SIGTERM to its worker alone: a failure, said as it comes
                bar.clear()
                print_error(failed[index])
            return
        if rows is not None:  # with an error: what came before a damaged end
            results[index] = merge_markers(rows, markers.get(items[index][0], []))
            durations[index] = seconds
            for row in rows:  # "no speech found: ..." (in JSON/JSONL too, as a status event)
                if row.get("type") == "status":
                    warnings.append(f"{items[index][0]}: {with_option_named(row['message'])}")
                    if len(items) > 1:
                        bar.clear()
                        print_warning(warnings[-1])
        if not one_input:
            bar.update(1)

    try:
        if jobs <= 1:
            _use_model(model)
            iterator = (_analyze_one(task, bar.update if one_input else None) for task in tasks)
        else:
            import multiprocessing as mp

            context = mp.get_context("spawn")
            stop = context.Value("b", 0, lock=False)
            with _terminal_signals_held():
                pool = context.Pool(jobs, initializer=_init_worker, initargs=(model.source, stop))
            iterator = pool.imap_unordered(_analyze_one, tasks)  # one at a time: a file is long work
        for result in iterator:
            take(result)
        if pool is not None:
            pool.close()
            pool.join()
            pool = None  # done: nothing left to terminate
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the inputs finished so far are written
        interrupted = exc
        partial = getattr(exc, "partial", None)  # the input being analysed in this process, up to the interrupt
        if partial is not None:
            take((partial[0], partial[1], None, partial[2], True))
        if pool is not None and iterator is not None:  # the workers stop too, and hand back what they found
            stop.value = 1
            _hand_back(iterator, taken[0], len(tasks), take)
    finally:
        if pool is not None:  # interrupted (Ctrl-C, SIGTERM) or failed: no worker outlives the run
            _end_pool(pool)
        bar.close()

    if interrupted is not None:
        return _write_interrupted(interrupted, args, items, results, durations, failed, stopped, fmt)
    if not results:  # every input failed: an empty timeline must not replace an earlier --output
        print_error(f"all {len(items)} inputs failed; nothing written" if batch else f"{failed[0]}; nothing written")
        return EXIT_ERROR
    if not any(row.get("type") in ("emotion", "marker") for rows in results.values() for row in rows):
        # silent, or speech too quiet for the VAD, everywhere (the warnings above say why for each)
        if not batch:
            print_error(f"{failed[0] if failed else (warnings or ['no speech found'])[0]}; nothing written")
        else:
            also = f" ({len(failed)} of {len(items)} inputs failed)" if failed else ""
            print_error(f"no speech found in any input{also}; nothing written")
        return EXIT_ERROR
    if len(items) == 1:
        for warning in warnings:
            print_warning(warning)
    _write_results(args, items, results, durations, failed, fmt)
    if failed:  # one input: what came before its damaged end is written above, and then its error
        print_error(f"{len(failed)} of {len(items)} inputs failed" if batch else failed[0])
        return EXIT_ERROR
    return 0


def _end_pool(pool, seconds: float = END_POOL_SECONDS) -> None:
    """Pool.terminate, but not waited on for ever: after an interrupt a worker sometimes does not end on
    its SIGTERM (9 of 62 interrupted runs in a stress loop: waiting for the pool's queue, whose lock
    Pool.terminate holds, SIGTERM caught and none pending), and Pool.terminate waited in ``join`` for
    ever.  Workers still there after ``seconds`` are killed; the pool's own clean-up then ends."""
    import multiprocessing as mp
    import threading

    ender = threading.Thread(target=lambda: (pool.terminate(), pool.join()), name="pool-ender", daemon=True)
    ender.start()
    ender.join(seconds)
    if ender.is_alive():
        for worker in mp.active_children():
            worker.kill()
        ender.join(seconds)


def _hand_back(iterator, accounted: int, total: int, take) -> None:
    """After an interrupt: the results the worker processes send back as they stop, for at most
    HAND_BACK_SECONDS (a worker killed with the interrupt never sends its files' results) or until a
    second interrupt."""
    import multiprocessing as mp
    import time

    deadline = time.monotonic() + HAND_BACK_SECONDS
    try:
        while accounted < total:
            take(iterator.next(timeout=max(0.0, deadline - time.monotonic())))
            accounted += 1
    except (StopIteration, mp.TimeoutError, KeyboardInterrupt):
        pass


def _mark_cut(index: int, items, durations: dict, stopped: set[int], failed: dict, run_interrupted: bool) -> None:
    """The error of an input an interrupt cut short, or never let start.  Where SIGTERM reached one
    worker process alone, the run goes on and ends normally, with that worker's inputs as failures."""
    from realtime_ser.pipeline.summary import format_time

    name = items[index][0]
    why = "the run was interrupted" if run_interrupted else "its worker process was terminated"
    if index in stopped:
        failed[index] = f"{name}: interrupted at {format_time(durations[index])} of its audio"
        if not run_interrupted:
            failed[index] += f" ({why})"
    else:
        failed[index] = f"{name}: not analysed ({why})"


def _write_interrupted(exc: KeyboardInterrupt, args, items, results: dict, durations: dict, failed: dict,
                       stopped: set[int], fmt: str) -> int:
    """An interrupted run writes what it found, as a batch that ends with a damaged file does: an hour of
    analysis is not thrown away for the last minute.  The inputs not (fully) analysed are marked as
    such (an ``error`` in JSON); nothing is written where nothing was found, so an earlier ``--output``
    stays."""
    from realtime_ser.pipeline.summary import format_time

    if not any(row.get("type") in ("emotion", "marker") for rows in results.values() for row in rows):
        return interrupted_exit(exc)
    for i in range(len(items)):
        if i not in results and i not in failed:
            _mark_cut(i, items, durations, stopped, failed, True)
    _write_results(args, items, results, durations, failed, fmt)
    where = f" written to {args.output}" if args.output else " written to standard output"
    if stopped and len(items) == 1:
        what = f"at {format_time(durations[min(stopped)])} of the audio; the results up to there{where}"
    else:
        done = sum(1 for i in results if i not in stopped)
        what = f"after {done} of {len(items)} inputs; their results{where}"
        if len(stopped) == 1:
            (cut,) = stopped
            what += f", with {items[cut][0]} up to {format_time(durations[cut])}"
        elif stopped:  # one per worker process: each entry says where its input was cut
            what += f", with the {len(stopped)} in progress up to where each had got"
    signum = getattr(exc, "signum", signal.SIGINT)
    signal_name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    print_error(f"interrupted{signal_name} {what}")
    return 128 + signum


def _write_results(args, items, results: dict, durations: dict, failed: dict, fmt: str) -> None:
    """The timeline (or summary) to ``--output`` or standard output."""
    if fmt == "summary":
        text = render_summary(items, results, durations)
    else:
        text = render_timeline(items, results, failed, fmt)
    if args.output:
        write_output(args.output, text)
    else:
        _print(text, end="")
