"""The command line's options, help texts and examples."""

from __future__ import annotations

import argparse

from realtime_ser.cli.analyze import cmd_analyze
from realtime_ser.cli.common import (
    CHANNEL_HELP, PROG, add_pipeline_options, channel_number, path_arg, raw_format,
)
from realtime_ser.cli.devices import cmd_devices
from realtime_ser.cli.listen import RECORD_INTO_SETTINGS_FOLDER, cmd_listen
from realtime_ser.cli.sessions import cmd_sessions
from realtime_ser.console import StdoutCheckingParser, non_negative_whole, positive_number


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
  realtime-ser listen --device -               a WAV stream piped in (ssh pi arecord -t wav ... | ...)
  realtime-ser listen --device - --raw s16le:44100:2   headerless PCM piped in (parec | ...)
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


class _CommandLineParser(StdoutCheckingParser):
    """The top parser: an argument the command does not have is that command's usage error.

    argparse reports it from the top parser, pointing at `realtime-ser --help`, which lists the
    commands, not the options the user got wrong; the command's own --help does."""

    commands: dict[str, argparse.ArgumentParser]

    def parse_args(self, args=None, namespace=None):
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            self.commands.get(getattr(parsed, "command", None), self).error(
                f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    from realtime_ser import __version__

    parser = _CommandLineParser(prog=PROG, description="Live speech emotion recognition (headless); "
                                  "realtime-ser-gui is the desktop app.", epilog=EPILOGS["main"],
                                  formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices

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
                                           "PulseAudio/PipeWire source, '-' a WAV stream piped to stdin "
                                           "(arecord -t wav ... | realtime-ser listen --device -)")
    p.add_argument("--raw", type=raw_format, metavar="FORMAT:RATE[:CHANNELS]",
                   help="with --device -: the stream is headerless PCM of this layout, in ffmpeg's names "
                        "(parec's default is s16le:44100:2; also u8, s24le, s32le, f32le, ...; channels "
                        "default to 1)")
    p.add_argument("--duration", type=positive_number, metavar="SECONDS",
                   help="stop after this many seconds of audio: of listening for a microphone, of the file "
                        "for a replay (--replay --speed 4 --duration 60 takes 15 s) or of the stream for --device -")
    p.add_argument("--output", "-o", type=path_arg, metavar="FILE", help="also write every event to this JSONL file")
    add_pipeline_options(p)
    p.add_argument("--partials", action="store_true", help="also print partial results")
    p.add_argument("--channel", type=channel_number, metavar="N",
                   help="of a multi-channel input or --replay file, " + CHANNEL_HELP)
    p.add_argument("--replay", type=path_arg, metavar="FILE|DIR",
                   help="replay an audio file or a recorded session folder in real time instead of a microphone")
    p.add_argument("--speed", type=positive_number, metavar="X",
                   help="replay speed factor, > 0 (with --replay; default 1 = real time)")
    p.add_argument(
        "--record", nargs="?", const=RECORD_INTO_SETTINGS_FOLDER, default=None, type=path_arg, metavar="DIR",
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
    p.add_argument("inputs", nargs="+", type=path_arg, metavar="FILE|DIR",
                   help="audio files (WAV, FLAC, MP3, M4A, a video's sound...), folders searched for them, "
                        "recorded session folders, or - for audio piped to standard input")
    p.add_argument("--format", "-f", choices=["csv", "json", "jsonl", "summary"],
                   help="the timeline (csv: one row per utterance; json; jsonl: one event per line), or "
                        "summary: one CSV row per input with its seconds of speech per emotion (default: "
                        "from the --output file's extension .csv, .json or .jsonl, else csv)")
    p.add_argument("--output", "-o", type=path_arg, metavar="FILE", help="write the timeline here instead of stdout")
    add_pipeline_options(p)
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
    p.add_argument("folder", nargs="?", type=path_arg, metavar="DIR",
                   help="sessions folder (default: the configured one), or one session's folder")
    p.add_argument("--format", "-f", choices=["table", "json"], default="table",
                   help="a table for people (default) or JSON for programs")
    p.add_argument("--title", help="rename the session DIR, then show it (e.g. \"P07 baseline\"; \"\" removes "
                                   "its title); not while it is being recorded")
    p.add_argument("--config", type=path_arg, metavar="FILE",
                   help="settings file (default: the platform config folder)")
    p.set_defaults(func=cmd_sessions)
    return parser
