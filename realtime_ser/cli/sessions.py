"""``realtime-ser sessions``: the recorded sessions, and renaming one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from realtime_ser.cli.common import (EXIT_ERROR, UsageError, check_title_length, load_settings, path_problem,
                                    print_error, print_warning)
from realtime_ser.cli.inputs import is_session
from realtime_ser.console import one_line
from realtime_ser.console import write_stdout as _print
from realtime_ser.errors import SerError


def cmd_sessions(args) -> int:
    """List recorded sessions, oldest first: when, how long, how it ended, how it sounded.

    With --title, first rename the one session named (as the app does), then show its row.
    """
    from realtime_ser.pipeline.summary import format_time
    from realtime_ser.session.catalog import catalog

    if args.title is not None:
        if not args.folder:  # never a guess at which session of the configured folder was meant
            raise UsageError("--title renames one session: name its folder (sessions SESSION_FOLDER --title TEXT)")
        check_title_length(args.title)
    if args.folder:
        folder = Path(args.folder)
        if args.config:  # not needed, but named: checked as listen and analyze check it, not ignored silently
            load_settings(args)  # (warnings only: DIR replaces its session folder, the one setting read)
    else:
        folder = load_settings(args).session_path
    problem = path_problem(folder)
    if problem:
        raise SerError(f"{folder}: {problem}")
    if not folder.is_dir():
        if args.folder:
            raise SerError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        if folder.exists():  # as `listen --record` says it: nothing can be recorded there either
            raise SerError(f"{folder}: is a file, not a folder for sessions")
        print(f"no sessions recorded yet ({folder} does not exist)", file=sys.stderr)
        return 0
    if args.title is not None:
        from realtime_ser.session.annotate import set_title

        set_title(folder, args.title)  # not a session, or one being recorded: its one-line SessionError
    rows, errors = _one_session(folder) if is_session(folder) else catalog(folder)
    for warning in (w for r in rows for w in r.warnings):  # skipped event lines: as `analyze` says them
        print_warning(warning)
    for error in errors:
        print_error(error)
    if args.format == "json":
        _print(json.dumps([r.to_dict() for r in rows], indent=1, ensure_ascii=False))
    elif not rows and not errors:
        print(f"no sessions in {folder}", file=sys.stderr)
    elif rows:
        names = {r.folder: one_line(Path(r.folder).name) for r in rows}  # a folder named with an ESC, too
        width = max(len("folder"), *(len(name) for name in names.values()))
        titled = any(r.title for r in rows)  # a title column only where someone named a session
        title_width = max([len("title")] + [len(r.title or "") for r in rows]) if titled else 0
        title_head = f"{'title':<{title_width}}  " if titled else ""
        _print(f"{'started':<19}  {'length':>7}  {'status':<11}  {'utt':>4}  {'marks':>5}  {title_head}"
              f"{'folder':<{width}}  speech sounded")
        for r in rows:
            title = f"{r.title or '-':<{title_width}}  " if titled else ""
            _print(f"{r.started_short:<19}  {format_time(r.duration_s)[:-2]:>7}  {r.status:<11}  {r.utterances:>4}  "
                  f"{r.markers:>5}  {title}{names[r.folder]:<{width}}  {r.emotions}")
    return EXIT_ERROR if errors else 0


def _one_session(folder: Path):
    """``sessions SESSION_FOLDER``: that session's row, as catalog() gives rows for a parent."""
    from realtime_ser.session.catalog import summarize

    try:
        return [summarize(folder)], []
    except SerError as exc:
        return [], [str(exc)]
