"""The main window's replay transport: pause, seek, play again, one channel, one utterance, sound.

A mixin of :class:`realtime_ser.gui.main_window.MainWindow`, which owns the state it
uses (``engine``, ``mode``, ``replay_bar``, ``timeline_model``, ``envelope``, ...);
kept apart so the window's module stays about assembling the views.
"""

from __future__ import annotations

from realtime_ser.audio.io import load_span
from realtime_ser.errors import SerError
from realtime_ser.gui.playback import play_clip, stop_clip
from realtime_ser.gui.timeline_model import format_time

UTTERANCE_MARGIN_S = 0.15  # played before and after an utterance, so its edges are not clipped
MAX_PLAY_S = 30.0  # the most of one (very long) utterance a double-click plays


class ReplayActions:
    """What the replay bar, Audio menu and a double-click on an utterance do."""

    def replay_channel(self, channel: int | None) -> None:
        """Replay the open recording again from its start, with ``channel`` alone (None: mixed);
        its marks come back with it (same clock)."""
        info = self.engine.info
        if self.mode != "replay" or info is None or info.path is None or channel == info.channel:
            return
        self.open_recording(info.path, keep_banner=self.banner.isVisible(), remember=False, channel=channel)

    def set_paused(self, paused: bool) -> None:
        if self.mode != "replay":
            return
        if not paused and self.replay_finished:  # the play button of a finished replay: again
            at = self.replay_bar.position.value() / 10.0
            self.replay_again(0.0 if at >= self.replay_bar.duration - 0.1 else at)
            return
        self._paused = paused
        if not paused:
            stop_clip()  # the replay's sound replaces an utterance still playing
            if self.replay_bar.audible.isChecked() and self.engine.player is None:
                self.set_audible(True)  # its output was closed for an utterance's playback
        (self.engine.pause if paused else self.engine.resume)()
        if paused:
            self.now_panel.set_level(0.0)  # nothing is heard while paused

    #: How near a block must start to a seek's target to be the audio the seek asked for.
    SEEK_LANDED_S = 0.1

    def replay_position(self) -> float:
        """Seconds into the replayed file: a FileSource's stream time is its file position, or
        where a seek is going (paused, the audio from there only comes on resuming)."""
        target = self._seek_target
        return self.envelope.end_time if target is None else target

    def seek(self, seconds: float) -> None:
        if not self.replay_seekable:
            return
        duration = self.replay_bar.duration
        seconds = max(0.0, min(seconds, max(0.0, duration - 0.05)))
        if self.engine.running:
            self.engine.seek(seconds)
            # Shown, and marked, at once: a paused replay reads nothing until it resumes.
            self._seek_target = seconds
            self.replay_bar.set_position(seconds)
        else:
            self.replay_again(seconds)

    def _seek_landed(self, block_start: float) -> None:
        """Audio reached the display: the position is the audio's again once it is the seek's."""
        if self._seek_target is not None and abs(block_start - self._seek_target) < self.SEEK_LANDED_S:
            self._seek_target = None

    @property
    def replay_finished(self) -> bool:
        """A replay that reached its end (or stopped on a fault) and can be played again from any point."""
        info = self.engine.info
        return (self.mode == "replay" and not self.engine.running and info is not None
                and info.audio_path is not None)

    @property
    def replay_seekable(self) -> bool:
        """A replay playing, or finished and able to play again: seeking, back/forward and going to a
        marker work."""
        return self.mode == "replay" and (self.engine.running or self.replay_finished)

    def replay_again(self, seconds: float) -> bool:
        """Play a finished replay again from ``seconds``, as a seek back would: the results before it
        stay, later ones are computed again (numbered on from the last), markers stay."""
        from realtime_ser.audio.file_source import FileSource

        info = self.engine.info
        try:
            source = FileSource(info.audio_path, realtime=self.realtime_replay, channel=info.channel)
            if seconds > 0:
                source.seek(seconds)
            self.engine.start(source, info, first_utterance_id=self.timeline_model.last_utterance_id)
        except SerError as exc:
            self.show_error(str(exc))
            return False
        self._finished_reported = False
        self._paused = False
        self._seek_target = seconds  # until its audio arrives: an earlier seek's target is no longer true
        self.statusBar().clearMessage()  # "Replay finished: ..." is no longer true
        self.replay_bar.set_playing(True)
        if self.replay_bar.audible.isChecked():
            self.set_audible(True)
        self._update_controls()
        return True

    def seek_relative(self, delta: float) -> None:
        self.seek(self.replay_position() + delta)

    def play_utterance(self, utterance_id: int) -> None:
        """Play one utterance of the replayed recording (double-click on its band); pauses a running replay."""
        utt = self.timeline_model.get(utterance_id)
        info = self.engine.info
        if utt is None or self.mode != "replay" or info is None or info.audio_path is None:
            self.statusBar().showMessage("Utterances can be played back in replayed recordings "
                                         "(record a session to replay it later)", 6000)
            return
        if self.engine.running and not self._paused:
            self.replay_bar.pause_button.setChecked(True)  # pauses (two sounds at once would be no use)
        # The clip gets the output to itself: a raw ALSA device may refuse a second stream.
        # Resuming the replay reopens its output (set_paused).
        self.engine.stop_player()
        end = utt.end_or(self.replay_position())
        try:
            audio = load_span(info.audio_path, self.params.sample_rate, utt.start - UTTERANCE_MARGIN_S,
                              min(end + UTTERANCE_MARGIN_S, utt.start + MAX_PLAY_S), channel=info.channel)
            play_clip(audio, self.params.sample_rate)
        except SerError as exc:
            self.show_error(str(exc))
            return
        self.statusBar().showMessage(
            f"Playing utterance {utterance_id} ({format_time(utt.start)} – {format_time(end)})", 6000)

    def set_audible(self, on: bool) -> None:
        self.settings.audible_replay = on
        if not on:
            self.engine.stop_player()
            return
        if self.mode == "replay" and self.engine.running:
            try:
                self.engine.start_player()
            except SerError as exc:
                self.show_error(str(exc))
                self.replay_bar.audible.setChecked(False)
