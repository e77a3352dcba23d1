"""Recording a session folder while the pipeline runs, without ever blocking it.

``write_audio`` and ``write_event`` only put an item on a queue; one writer
thread converts, writes, flushes and fsyncs about every ``flush_interval``
seconds.  So a SIGKILL or power cut loses at most about a second, and
:func:`realtime_ser.session.repair.repair` makes what is on disk open again.

Disk full, a removed folder or any other write failure stops the recording
(``.error`` says why in one line, ``on_error`` is called once), finalises what
was written so far and never raises into the caller: listening goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import errno
import json
import logging
import os
import queue
import shutil
import threading
import time
import wave
from pathlib import Path
from typing import Callable

import numpy as np

from realtime_ser import __version__
from realtime_ser.atomic_file import fsync_dir
from realtime_ser.errors import SessionError
from realtime_ser.session.format import (
    AUDIO_NAME,
    EVENTS_NAME,
    FORMAT_NAME,
    FORMAT_VERSION,
    LOCK_NAME,
    MANIFEST_NAME,
    STATUS_COMPLETE,
    STATUS_RECORDING,
    clean_title,
    STATUS_STOPPED,
    fix_wav_header,
    truncate_to_last_line,
    write_json_atomic,
)
from realtime_ser.session.utterance_edges import UtteranceEdges, end_cut_off_utterances

try:  # advisory lock that dies with the process: how repair tells a live recorder from a killed one
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

_STOP = object()
_TIME_FIELDS = ("time", "start", "end")
#: A 16-bit WAV data chunk cannot describe more than 4 GiB (about 37 h of 16 kHz mono).
_MAX_WAV_DATA_BYTES = 0xFFFFFFFF - 64


def pcm16(audio: np.ndarray) -> np.ndarray:
    """Float samples as 16-bit PCM, the inverse of decoding it (x / 32768): audio that came from
    16 bits is stored bit for bit, so a session replays to the results it recorded."""
    return np.clip(np.rint(np.nan_to_num(audio) * 32768.0), -32768, 32767).astype("<i2")


def _json_line(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def _now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _plain(obj) -> object:
    """Settings / metadata as JSON-able data (dataclass, ``to_dict`` object, dict or None)."""
    if obj is None:
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    elif hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    return json.loads(json.dumps(obj, default=str))


def _model_section(model_metadata) -> dict | None:
    """The manifest's ``model`` entry from ModelMetadata, an EmotionModel or a plain dict."""
    if model_metadata is None:
        return None
    md = getattr(model_metadata, "metadata", model_metadata)  # EmotionModel -> ModelMetadata
    if hasattr(md, "to_json"):
        data = json.loads(md.to_json())
    else:
        data = _plain(md)
    version = data.get("model_version") if isinstance(data, dict) else None
    return {"version": version, "metadata": data}


def _unique_folder(parent: Path, started: _dt.datetime, suffix: str) -> Path:
    stamp = started.strftime("%Y-%m-%dT%H-%M-%S")
    candidate = parent / f"{stamp}_{suffix}"
    n = 2
    while candidate.exists():
        candidate = parent / f"{stamp}_{suffix}-{n}"
        n += 1
    return candidate


class SessionRecorder:
    """Writes ``audio.wav``, ``events.jsonl`` and ``manifest.json`` into a new session folder.

    Typical wiring::

        rec = SessionRecorder(parent, 16000, device_name, model.metadata, settings)
        folder = rec.start()
        pipeline.add_audio_listener(rec.write_audio)   # fn(block, stream_time)
        pipeline.add_event_listener(rec.write_event)
        ...
        rec.stop()
    """

    def __init__(
        self,
        parent_dir: str | os.PathLike,
        sample_rate: int,
        device_name: str | None = None,
        model_metadata=None,
        settings=None,
        *,
        flush_interval: float = 0.5,
        max_queue_seconds: float = 60.0,
        max_gap_seconds: float = 600.0,
        on_error: Callable[[str], None] | None = None,
        folder_suffix: str = "session",
        title: str | None = None,
    ):
        if int(sample_rate) <= 0:
            raise ValueError("sample_rate must be positive")
        self.parent_dir = Path(parent_dir)
        self._created_parents: list[Path] = []  # folders start() made for parent_dir, innermost first
        self.sample_rate = int(sample_rate)
        self.device_name = device_name
        self.model_metadata = model_metadata
        self.settings = settings
        self.flush_interval = float(flush_interval)
        self.max_queue_samples = int(max_queue_seconds * self.sample_rate)
        self.max_gap_seconds = float(max_gap_seconds)
        self.on_error = on_error
        self.folder_suffix = folder_suffix
        self.title = clean_title(title)

        self.folder: Path | None = None
        self.error: str | None = None
        self.dropped_samples = 0  # refused because the writer fell too far behind
        self.events_written = 0
        self.stream_time_origin: float | None = None

        self._queue: queue.Queue = queue.Queue()
        self._queued_samples = 0
        self._count_lock = threading.Lock()
        self._accepting = False
        self._thread: threading.Thread | None = None
        self._frames_written = 0
        self._pending_frames = 0
        self._origin = 0.0  # stream time of the file's first sample (moves only on re-anchoring)
        self.gap_samples = 0  # silence written for audio lost upstream
        self._sought = False  # the input jumped (a seek): the next audio re-anchors the clock
        self._manifest: dict = {}
        # The writer thread finalises the manifest; set_title() rewrites it from another thread.
        self._manifest_lock = threading.Lock()
        self._audio_file = None
        self._wav: wave.Wave_write | None = None
        self._events_file = None
        self._lock_file = None
        self._folder_ino: int | None = None
        self._stop_requested = False
        self._edges = UtteranceEdges()  # whole utterances at the recording's start and end

    # --- public API -------------------------------------------------------------

    @property
    def duration(self) -> float:
        """Seconds of audio written to the file so far."""
        return self._frames_written / self.sample_rate

    @property
    def recording(self) -> bool:
        return self._accepting

    def start(self) -> Path:
        """Create the session folder and start the writer thread; return the folder.

        Raises SessionError (one line) if the folder cannot be created or written.
        """
        if self._thread is not None:
            raise RuntimeError("SessionRecorder.start() called twice")
        started = _dt.datetime.now().astimezone()
        if self.parent_dir.exists() and not self.parent_dir.is_dir():
            raise SessionError(f"{self.parent_dir}: is a file, not a folder for sessions")
        missing = [d for d in (self.parent_dir, *self.parent_dir.parents) if not d.exists()]
        try:
            self.parent_dir.mkdir(parents=True, exist_ok=True)
            self._created_parents = missing
            folder = _unique_folder(self.parent_dir, started, self.folder_suffix)
            folder.mkdir()
        except OSError as exc:
            raise SessionError(f"{self.parent_dir}: cannot create a session folder ({exc.strerror})") from None
        self.folder = folder
        try:
            self._open_files(folder)
            self._manifest = {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "status": STATUS_RECORDING,
                "title": self.title,
                "started": started.isoformat(timespec="milliseconds"),
                "ended": None,
                "program": f"realtime-ser {__version__}",
                "device": self.device_name,
                "sample_rate": self.sample_rate,
                "channels": 1,
                "audio_file": AUDIO_NAME,
                "audio_encoding": "pcm_16",
                "events_file": EVENTS_NAME,
                "stream_time_origin": None,
                "duration": None,
                "events_count": None,
                "dropped_samples": 0,
                "gap_samples": 0,
                "error": None,
                "model": _model_section(self.model_metadata),
                "settings": _plain(self.settings),
            }
            write_json_atomic(folder / MANIFEST_NAME, self._manifest)
            self._folder_ino = os.stat(folder).st_ino
        except OSError as exc:
            self._close_files()
            self._release_lock()
            shutil.rmtree(folder, ignore_errors=True)  # only what start() itself created
            self.folder = None
            raise SessionError(f"{folder}: cannot start recording ({exc.strerror or exc})") from None
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()
        return folder

    def write_audio(self, block: np.ndarray, stream_time: float | None = None) -> None:
        """Queue a mono float32 block (copied); ``stream_time`` is the time of its first sample.

        Never blocks and never raises: it matches ``Pipeline.add_audio_listener``.
        """
        if not self._accepting:
            return
        try:
            data = np.array(block, dtype=np.float32, copy=True).reshape(-1)
        except (TypeError, ValueError):
            return
        n = data.size
        with self._count_lock:
            if self._queued_samples + n > self.max_queue_samples:
                self.dropped_samples += n
                return
            self._queued_samples += n
        self._queue.put(("a", data, stream_time))

    def write_seek(self) -> None:
        """The input jumped (a replay sought) between the audio queued so far and what comes next: the
        recording goes on from there, rather than taking the jump forward for lost audio and filling
        it with silence.  Never blocks or raises; matches ``Pipeline.add_seek_listener`` but for its
        argument."""
        if self._accepting:
            self._queue.put(("s", None, None))

    def write_event(self, event) -> None:
        """Queue a pipeline event (``to_dict()`` is stored; anything else is ignored). Never blocks or raises."""
        if self._accepting:
            self._queue.put(("e", event, None))

    def stop(self, timeout: float = 30.0, input_error: str | None = None) -> Path | None:
        """Flush everything, close the files and mark the manifest complete; return the folder.

        ``input_error``: the input ended on that fault (a file cut short, a device gone), so the
        session is marked ``stopped`` with it, not ``complete`` (the caller has already said it).
        """
        if self._thread is None or self._stop_requested:
            if self._thread is not None:
                self._thread.join(timeout)
            return self.folder
        if input_error and self.error is None:
            self.error = input_error
        self._stop_requested = True
        self._accepting = False
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._set_error(f"{self.folder}: recording did not finish writing within {timeout:.0f} s")
        return self.folder

    def set_title(self, title: str | None) -> str | None:
        """Name the session while it is being recorded (None or "" removes the name); the manifest
        is rewritten at once (atomically), so a crash keeps the name.  Returns the title as stored.

        Raises SessionError (one line) when the manifest cannot be written, e.g. on a full disk;
        the recording itself goes on.  A finished session is renamed with
        :func:`realtime_ser.session.annotate.set_title`.
        """
        self.title = self._update_manifest("rename the session", title=clean_title(title))["title"]
        return self.title

    def set_device(self, name: str) -> None:
        """The input's name once it is open (a microphone's real name, not "microphone"): the session
        is started before the input, so that one that cannot open leaves no folder. Raises SessionError."""
        self.device_name = self._update_manifest("name the session's input", device=name)["device"]

    def _update_manifest(self, doing: str, **fields) -> dict:
        """Rewrite the manifest (atomically) with ``fields`` while recording; SessionError saying what failed."""
        with self._manifest_lock:
            if self.folder is None or not self._manifest:
                raise SessionError("no session is being recorded")
            updated = dict(self._manifest, **fields)
            try:
                write_json_atomic(self.folder / MANIFEST_NAME, updated)
            except OSError as exc:
                raise SessionError(f"{self.folder}: cannot {doing} ({exc.strerror or exc})") from None
            self._manifest = updated
            return updated

    def discard(self) -> bool:
        """Stop, and remove the session folder if nothing reached it (no audio, no events, no
        error), with the folders start() made to hold it; returns whether it was removed.

        For an input that fails to open right after start(): ``sessions`` and the app would list
        the empty folder as a session.  Anything recorded is kept, as stop() keeps it.
        """
        folder = self.stop()
        if folder is None or self._frames_written or self.events_written or self.error is not None:
            return False
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            log.warning("could not remove the empty session folder %s: %s", folder, exc)
            return False
        self.folder = None
        for made in self._created_parents:  # and the folders made for it (--record NEW_DIR), while empty
            try:
                made.rmdir()
            except OSError:  # something else was put there meanwhile: it stays
                break
        return True

    def __enter__(self) -> "SessionRecorder":
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- writer thread ----------------------------------------------------------

    def _open_files(self, folder: Path) -> None:
        if fcntl is not None:
            self._lock_file = open(folder / LOCK_NAME, "w")
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._lock_file.write(f"{os.getpid()}\n")
            self._lock_file.flush()
        self._audio_file = open(folder / AUDIO_NAME, "wb")
        self._wav = wave.open(self._audio_file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self.sample_rate)
        self._wav.writeframes(b"")  # the header goes to disk now, before any audio
        self._events_file = open(folder / EVENTS_NAME, "ab")
        self._sync_files()
        fsync_dir(folder)

    def _run(self) -> None:
        pending: list[np.ndarray] = []
        early_events: list = []
        last_flush = time.monotonic()
        try:
            while True:
                timeout = max(0.0, last_flush + self.flush_interval - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    kind, payload, stream_time = item
                    if kind == "a":
                        with self._count_lock:
                            self._queued_samples -= payload.size
                        self._align(stream_time, pending)
                        if early_events:  # now their times can be given from the recording's start
                            for event in early_events:
                                self._write_event_line(event)
                            early_events.clear()
                        pending.append(payload)
                        self._pending_frames += payload.size
                        # Write (not fsync) in pieces of about a second: memory then stays the same
                        # however fast audio arrives (a sped-up replay, a backlog after a stall).
                        if self._pending_frames >= self.sample_rate:
                            self._write_pending_audio(pending)
                    elif kind == "s":
                        self._sought = True
                    elif self.stream_time_origin is None:
                        # Before the first audio the recording's start is unknown: an event of the
                        # moment Record was pressed must not be stored in the stream's own times.
                        early_events.append(payload)
                    else:
                        self._write_event_line(payload)
                if time.monotonic() - last_flush >= self.flush_interval:
                    self._write_pending_audio(pending)
                    self._sync_files()
                    self._check_folder()
                    last_flush = time.monotonic()
            for event in early_events:  # no audio came at all: times as they are
                self._write_event_line(event)
            self._write_pending_audio(pending)
            for data in self._edges.close(self.duration):  # an utterance Record was released in
                self._write_line(_json_line(data))
            self._sync_files()
            self._check_folder()
            self._finish(STATUS_STOPPED if self.error else STATUS_COMPLETE)
        except OSError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug: still stop cleanly, keep what was written, say so
            log.exception("session writer failed")
            self._fail(exc)

    def _align(self, stream_time: float | None, pending: list[np.ndarray]) -> None:
        """Keep event times equal to positions in the file across lost audio.

        Audio the pipeline lost (overruns, a device reconnect) or this recorder
        had to refuse is written as silence, up to ``max_gap_seconds``; after a
        longer gap, a jump back or a seek (:meth:`write_seek`) the clock is re-anchored.
        """
        if stream_time is None:
            if self.stream_time_origin is None:
                self.stream_time_origin = self._origin = 0.0
            return
        if self.stream_time_origin is None:
            self.stream_time_origin = self._origin = float(stream_time)
            return
        position = self._frames_written + self._pending_frames
        if self._sought:  # the replay jumped: its audio goes on from here, nothing was lost
            self._sought = False
            self._origin = float(stream_time) - position / self.sample_rate
            return
        gap = int(round((stream_time - self._origin) * self.sample_rate)) - position
        if gap == 0 or abs(gap) <= 1:
            return
        if 0 < gap <= self.max_gap_seconds * self.sample_rate:
            self._write_pending_audio(pending)
            self.gap_samples += gap
            while gap > 0:  # in one-second pieces: a long gap must not allocate a long array
                n = min(gap, self.sample_rate)
                self._write_pcm(np.zeros(n, dtype="<i2"))
                gap -= n
        else:
            self._origin = float(stream_time) - position / self.sample_rate

    def _write_pending_audio(self, pending: list[np.ndarray]) -> None:
        if not pending:
            return
        audio = np.concatenate(pending) if len(pending) > 1 else pending[0]
        pending.clear()
        self._pending_frames = 0
        self._write_pcm(pcm16(audio))

    def _write_pcm(self, pcm: np.ndarray) -> None:
        if (self._frames_written + pcm.size) * 2 > _MAX_WAV_DATA_BYTES:
            raise OSError(errno.EFBIG, "WAV size limit (4 GiB) reached")
        self._wav.writeframes(pcm.tobytes())  # also rewrites the header's sizes
        self._frames_written += pcm.size

    def _write_event_line(self, event) -> None:
        try:
            data = event.to_dict()
            origin = self._origin
            if origin:
                for key in _TIME_FIELDS:
                    value = data.get(key)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        data[key] = round(value - origin, 6)
            lines = [_json_line(d) for d in self._edges.lines(data)]
        except Exception:  # not a serialisable event: no reason to stop recording over it
            log.warning("session recorder skipped an event it cannot store: %r", event)
            return
        for line in lines:
            self._write_line(line)

    def _write_line(self, line: str) -> None:
        self._events_file.write(line.encode("utf-8"))
        self.events_written += 1

    def _sync_files(self) -> None:
        for f in (self._audio_file, self._events_file):
            f.flush()
            os.fsync(f.fileno())

    def _check_folder(self) -> None:
        """A deleted folder does not make writes fail on POSIX, so look for it explicitly.  One renamed
        or moved on its disk (a user naming it "P07 baseline" mid-session) is followed: the open files
        went with it, so the recording goes on there, and is finished there."""
        try:
            ino = os.stat(self.folder).st_ino
        except FileNotFoundError:
            ino = None
        if ino is not None and (self._folder_ino is None or ino == self._folder_ino):
            return
        moved_to = self._where_moved()
        if moved_to is None:
            raise FileNotFoundError(errno.ENOENT, "session folder was removed or moved")
        with self._manifest_lock:  # a title being set names the folder too
            self.folder = moved_to

    def _where_moved(self) -> Path | None:
        """Where the session folder is now, from the path of the open audio file (Linux's /proc);
        None when it was deleted (moved to another disk is copied then deleted) or cannot be told."""
        try:
            link = os.readlink(f"/proc/self/fd/{self._audio_file.fileno()}")
            folder = Path(link).parent
            if link.endswith(" (deleted)") or os.stat(folder).st_ino != self._folder_ino:
                return None
        except (OSError, AttributeError, ValueError):
            return None
        return folder

    def _finish(self, status: str) -> None:
        self._close_files()
        self._finalise_manifest(status)
        self._release_lock()

    def _finalise_manifest(self, status: str) -> None:
        with self._manifest_lock:
            self._write_final_manifest(status)

    def _write_final_manifest(self, status: str) -> None:
        self._manifest.update(
            status=status,
            ended=_now_iso(),
            stream_time_origin=self.stream_time_origin,
            duration=round(self.duration, 6),
            events_count=self.events_written,
            dropped_samples=self.dropped_samples,
            gap_samples=self.gap_samples,
            error=self.error,
        )
        path = self.folder / MANIFEST_NAME
        try:
            write_json_atomic(path, self._manifest)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # A full disk has no room for the temporary copy, but the manifest's own
            # blocks can be overwritten in place (not atomic, so only as a last resort).
            text = json.dumps(self._manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
            with open(path, "r+b") as f:
                if len(text) > os.fstat(f.fileno()).st_blocks * 512:
                    raise  # would need new blocks: keep the old manifest intact instead
                f.write(text)
                f.truncate(len(text))
                f.flush()
                os.fsync(f.fileno())

    def _close_files(self) -> None:
        wav, self._wav = self._wav, None
        if wav is not None:
            try:
                wav.close()  # patches the header; does not close the file we passed in
            except (OSError, ValueError, AttributeError):
                pass
        for name in ("_audio_file", "_events_file"):
            f = getattr(self, name)
            setattr(self, name, None)
            if f is not None:
                try:
                    f.flush()
                    os.fsync(f.fileno())
                except (OSError, ValueError):
                    pass
                try:
                    f.close()
                except OSError:
                    pass

    def _release_lock(self) -> None:
        lock, self._lock_file = self._lock_file, None
        if lock is not None:
            try:
                lock.close()  # closing drops the flock
                (self.folder / LOCK_NAME).unlink()
            except OSError:
                pass

    def _fail(self, exc: Exception) -> None:
        self._accepting = False
        if not isinstance(exc, OSError):
            reason = f"internal error ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]})"
        elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = "disk full"
        elif exc.errno == errno.ENOENT:
            reason = "session folder was removed"
        elif exc.errno == errno.EFBIG:
            reason = "file size limit reached"
        else:
            reason = exc.strerror or type(exc).__name__
        self._set_error(f"{self.folder}: recording stopped: {reason}")
        self._close_files()
        # Leave what is on disk readable: header sizes matching the data, whole lines only;
        # then let the manifest describe those files. A failed write may have left part of a
        # block (more audio than counted) or lost buffered data (less), so count what is there.
        try:
            self._frames_written = fix_wav_header(self.folder / AUDIO_NAME)[0]
        except (OSError, ValueError):
            pass
        try:
            truncate_to_last_line(self.folder / EVENTS_NAME)
            try:  # whole utterances, where there is room left for the lines that end them
                end_cut_off_utterances(self.folder / EVENTS_NAME, self._frames_written / self.sample_rate)
            except OSError:
                truncate_to_last_line(self.folder / EVENTS_NAME)
            with open(self.folder / EVENTS_NAME, "rb") as f:
                self.events_written = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 16), b""))
        except OSError:
            pass
        try:
            self._finalise_manifest(STATUS_STOPPED)
        except OSError:
            pass  # still "recording" on disk: repair_interrupted() finishes it on the next start
        self._release_lock()
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _set_error(self, message: str) -> None:
        if self.error is None:
            self.error = message
            if self.on_error is not None:
                try:
                    self.on_error(message)
                except Exception:  # a front end's callback must not kill the writer
                    pass
