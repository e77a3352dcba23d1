"""The main window: assembles the views and drives them from one timer.

The GUI thread never waits on audio or on the model: a QTimer (30 fps) drains
the engine's queues (audio blocks and pipeline events), feeds the display ring
buffers, and redraws.  When nothing is running, nothing is redrawn.
"""

from __future__ import annotations

import html
import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from realtime_ser.audio.sources import says_input_back, says_input_lost
from realtime_ser.config import APP_NAME, Settings, default_config_path
from realtime_ser.config import save as save_settings
from realtime_ser.dsp.features import FeatureParams
from realtime_ser.dsp.input_health import describe as describe_input_problem
from realtime_ser.dsp.vad import NO_SPEECH
from realtime_ser.errors import AudioFileError, SerError
from realtime_ser.gui import palette
from realtime_ser.gui.about import show_about
from realtime_ser.gui.actions import fill_menu_bar, refresh_action_icons, set_action_icon, window_action
from realtime_ser.gui.controls import (
    Banner,
    ChannelPicker,
    DevicePicker,
    FittingToolBar,
    ReplayBar,
    SensitivityControl,
)
from realtime_ser.gui.display_buffers import MelSpectrogramRing, WaveformEnvelope
from realtime_ser.gui.engine import Engine, SourceInfo, sensitivity_to_threshold_db, session_display_name
from realtime_ser.gui.error_reporting import internal_error_html
from realtime_ser.gui.file_drop import dropped_recording
from realtime_ser.gui.icons import MARKER
from realtime_ser.gui.input_devices import InputChoice, default_list_inputs
from realtime_ser.gui.now_panel import NowPanel
from realtime_ser.gui.playback import clip_playing, stop_clip
from realtime_ser.gui.preferences import PreferencesDialog, applied_when
from realtime_ser.gui.questions import ask_to_quit_recording
from realtime_ser.gui.recent_menu import RecentMenu
from realtime_ser.gui.settings import GuiSettings
from realtime_ser.gui.spectrogram_view import SpectrogramView
from realtime_ser.gui.status_indicators import StatusIndicators, saved_in, shown_path
from realtime_ser.gui.timeline_model import TimelineModel, format_time
from realtime_ser.gui.timeline_view import TimelineView
from realtime_ser.gui.waveform_view import WaveformView
from realtime_ser.gui.window_input_loss import InputLossActions
from realtime_ser.gui.window_markers import MarkerActions
from realtime_ser.gui.window_replay import ReplayActions
from realtime_ser.gui.window_sessions import SessionActions
from realtime_ser.pipeline.events import INTERNAL_ERROR, EmotionEvent, SpeechEvent, StatusEvent
from realtime_ser.pipeline.smoothing import relabel
from realtime_ser.session.file_marks import default_marks_dir, load_marks
from realtime_ser.session.format import named_session_folder

log = logging.getLogger(__name__)

FPS = 30
IDLE_TITLE = "Live speech emotion"  # the window title while nothing runs (before " — realtime-ser")
WAVEFORM_SECONDS = 10.0
TIMELINE_SECONDS = 60.0
SEEK_STEP_S = 5.0
MARKER_EDIT_HINT = "Right-click to edit its note or delete it"
DEMO_PLAYING = "Playing the bundled demo session instead."  # the no-microphone banner, while it plays
DEMO_PLAYED = "The bundled demo session was played instead."  # and once it has stopped


class _PaintCounter(QObject):
    """Counts paint events of a widget: the frames really drawn (used by the benchmark)."""

    def __init__(self, parent):
        super().__init__(parent)
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


class MainWindow(ReplayActions, MarkerActions, SessionActions, InputLossActions, QMainWindow):
    """The window: builds the views and actions, starts sources and drains the engine on a timer.

    What the replay transport, the markers and the session files do lives in the mixins
    (gui/window_replay.py, window_markers.py, window_sessions.py); the state they share is
    made here.
    """

    def __init__(
        self,
        model,
        model_path: str,
        settings: GuiSettings,
        *,
        demo_path: Path | None = None,
        sessions_dir: Path | None = None,
        list_inputs=None,
        realtime_replay: bool = True,
        config: Settings | None = None,
        config_path: Path | None = None,
        file_marks_dir: Path | None = None,
        log_path: Path | None = None,
    ):
        super().__init__()
        self.model = model
        #: The app's log file (realtime_ser/log_file.py), named where an internal error is shown; None: stderr only.
        self.log_path = log_path
        self.model_path = model_path
        self.settings = settings
        #: The user settings the command line reads too (config.json): confidence threshold,
        #: smoothing, partial interval, utterance length, session folder, default device.
        self.config = config if config is not None else Settings()
        self.config_path = Path(config_path) if config_path else default_config_path()
        self.demo_path = demo_path
        #: Where the marks set on plain audio files are kept between replays (session/file_marks.py).
        self.file_marks_dir = Path(file_marks_dir) if file_marks_dir else default_marks_dir()
        self._sessions_dir_given = bool(sessions_dir)  # --sessions-dir outranks the settings
        self.sessions_dir = Path(sessions_dir) if sessions_dir else self.config.session_path
        self.realtime_replay = realtime_replay
        self.labels = list(model.labels)
        self.params: FeatureParams = model.params
        self.engine = Engine(model, sensitivity_to_threshold_db(settings.sensitivity), self.config.pipeline_config())
        self.mode = "idle"  # "idle" | "microphone" | "replay"
        self.status_log: list[StatusEvent] = []
        self.frames_refreshed = 0
        self._ticks = 0
        self._markers_to_carry: list[int] = []  # a replayed session's markers still to go into its recording
        self._paused = False
        self._seek_target: float | None = None  # where a seek goes, until its audio arrives
        self._finished_reported = True
        self._last_status_update = 0.0
        self._runs = 0  # sources started so far: a note typed for an earlier one is not this one's
        self.marker_list = None  # Audio -> Markers, made when first shown
        self.marker_menu = None  # the last right-click menu of a marker
        self._marker_list_shows = None  # (markers version, can go to) it shows
        self._quit_confirmed = False  # closing while recording asks first (once)
        self._quit_box = None  # that question, while it is asked

        dark = palette.is_dark_theme()
        plot_colors = palette.plot_colors(dark)
        self.emotion_colors = palette.emotion_colors(self.labels)

        self.setWindowTitle(f"{IDLE_TITLE} — {APP_NAME}")
        self.setMinimumSize(1000, 540)  # 1366x768 at 125 % leaves about 1093x550
        self.setAcceptDrops(True)  # drop a recording or a session folder to replay it

        # --- data behind the views ---
        sr = self.params.sample_rate
        self.envelope = WaveformEnvelope(sr, WAVEFORM_SECONDS, columns=1600)
        self.mel = MelSpectrogramRing(self.params, WAVEFORM_SECONDS)
        self.timeline_model = TimelineModel()

        # --- views ---
        self.waveform = WaveformView(self.envelope, plot_colors, self.emotion_colors)
        self.spectrogram = SpectrogramView(self.mel, plot_colors)
        self.timeline = TimelineView(self.timeline_model, self.labels, self.emotion_colors, plot_colors,
                                     TIMELINE_SECONDS)
        self.now_panel = NowPanel(self.labels, self.emotion_colors)
        self.banner = Banner()
        self.replay_bar = ReplayBar()
        self.replay_bar.hide()
        self.replay_bar.pause_toggled.connect(self.set_paused)
        self.replay_bar.seek_requested.connect(self.seek)
        self.replay_bar.audible_toggled.connect(self.set_audible)
        self.replay_bar.channel_chosen.connect(self.replay_channel)
        self.replay_bar.audible.setChecked(settings.audible_replay)
        self.timeline.utterance_activated.connect(self.play_utterance)
        self.timeline.marker_activated.connect(self.replay_from_marker)
        self.timeline.marker_menu_requested.connect(self._marker_menu)

        self.paint_counter = _PaintCounter(self)
        self.waveform.viewport().installEventFilter(self.paint_counter)

        # Names for screen readers (the plots are pictures to them otherwise), on the views and on
        # the viewports that take the keyboard focus.
        for view, name in ((self.waveform, "Waveform, last 10 seconds, utterances shaded by emotion"),
                           (self.spectrogram, "Spectrogram, last 10 seconds"),
                           (self.timeline.plot, "Emotion timeline of the session")):
            view.setAccessibleName(name)
            view.viewport().setAccessibleName(name)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.waveform)
        plots.addWidget(self.spectrogram)
        plots.addWidget(self.timeline)
        plots.setSizes([150, 170, 260])
        # The timeline is the result: on a short window it keeps the most height (stretch 2 : 1 : 1).
        for index, stretch in enumerate((1, 1, 2)):
            plots.setStretchFactor(index, stretch)
        plots.setChildrenCollapsible(False)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(plots)
        # On a short window the Now panel scrolls rather than squeezing its rows into each other.
        now_scroll = QScrollArea()
        now_scroll.setWidget(self.now_panel)
        now_scroll.setAccessibleName("Now: the current emotion, its probabilities and the input level")
        now_scroll.setWidgetResizable(True)
        now_scroll.setFrameShape(QFrame.Shape.NoFrame)
        now_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # room for the scroll bar a short window shows, beside the panel rather than over its right edge
        scroll_bar = now_scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, now_scroll)
        now_scroll.setMinimumWidth(self.now_panel.minimumSizeHint().width() + scroll_bar)
        body.addWidget(now_scroll)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 0)
        body.setChildrenCollapsible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addWidget(self.replay_bar)
        layout.addWidget(body, 1)
        self.setCentralWidget(central)
        # An explicit minimum overrides what the layout needs: never below that (the timeline's legend).
        self.setMinimumWidth(max(self.minimumWidth(), central.minimumSizeHint().width()))

        self._build_actions()
        self._list_inputs = list_inputs or default_list_inputs
        self._build_toolbar(self._list_inputs_fresh)
        self._build_menus()
        self.status_indicators = StatusIndicators(self.statusBar(), self.params.sample_rate, model.metadata,
                                                  model_path)
        # The labels under the window's own names, where tests and tools read them.
        self.status_recording = self.status_indicators.recording
        self.status_source = self.status_indicators.source
        self.status_rate = self.status_indicators.rate
        self.status_model = self.status_indicators.model
        self.status_latency = self.status_indicators.latency
        self.status_dropped = self.status_indicators.dropped

        geometry = settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_size()

        self.dark = dark
        self.apply_theme(dark)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt >= 6.5: follow the system while running
            hints.colorSchemeChanged.connect(self._on_color_scheme_changed)  # a method: disconnected with us

        self.recovered_sessions: list[Path] = []
        self._repair_sessions()

        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / FPS))
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self._update_controls()

    # ------------------------------------------------------------------ building

    def _on_color_scheme_changed(self, *_args) -> None:
        self.apply_theme(palette.is_dark_theme())

    def apply_theme(self, dark: bool) -> None:
        """Plot colours for a light or dark system palette (widgets follow the palette themselves)."""
        self.dark = dark
        colors = palette.plot_colors(dark)
        for plot in (self.waveform, self.spectrogram, self.timeline.plot):
            palette.style_plot(plot, colors)
        self.waveform.set_trace_color(colors["trace"])
        self.waveform.set_marker_color(colors["foreground"])
        self.timeline.set_text_color(colors["foreground"])
        refresh_action_icons(self)

    def changeEvent(self, event) -> None:
        """The system palette changed (light/dark switched while running): plots and icons follow."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "timeline"):
            self.apply_theme(palette.is_dark_theme())

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        action = partial(window_action, self)
        self.start_action = action("Start", Qt.Key.Key_Space, self.toggle_listening,
                                   "Start / stop listening to the microphone", sp.SP_MediaPlay)
        self.open_action = action("Open recording…", "Ctrl+O", self.open_dialog,
                                  "Replay an audio file or a saved session", sp.SP_DialogOpenButton)
        self.open_session_action = action("Recorded sessions…", "Ctrl+Shift+O", self.show_sessions,
                                          "The recorded sessions: replay one", sp.SP_DirOpenIcon)
        self.record_action = action("Record session", "Ctrl+R", self.set_recording,
                                    "Save audio and results into a session folder",
                                    sp.SP_DialogSaveButton, checkable=True)
        self.name_recording_action = action("Name this recording…", None, self.ask_recording_title,
                                            "Give the session being recorded a title, e.g. \"P07 baseline\"")
        self.export_action = action("Export timeline…", "Ctrl+E", self.export_dialog,
                                    "Save the emotion timeline as CSV or JSON results, or a PNG picture",
                                    sp.SP_FileDialogDetailedView)
        self.mark_action = action("Mark moment", "Ctrl+M", lambda: self.add_marker(),
                                  "Mark this moment on the timeline (saved in a recorded session)", MARKER)
        self.mark_note_action = action("Mark with note…", "Ctrl+Shift+M", self.mark_with_note,
                                       "Mark this moment and type a note for it")
        self.markers_action = action("Markers…", "Ctrl+L", self.show_marker_list,
                                     "Every marker of the session: go to one, edit its note, delete it")
        self.calibrate_action = action("Calibrate noise", "Ctrl+K", self.calibrate_noise,
                                       "Measure background noise for 1 s")
        self.demo_action = action("Play demo", "Ctrl+D", self.play_demo,
                                  "Replay the bundled demo session (CREMA-D clips)", sp.SP_MediaSeekForward)
        self.pause_action = action("Pause replay", "Ctrl+P", lambda: self.replay_bar.pause_button.toggle(),
                                   "Pause / resume the replay")
        self.back_action = action("Back 5 s", "Ctrl+Left", lambda: self.seek_relative(-SEEK_STEP_S),
                                  "Jump back in the replay")
        self.forward_action = action("Forward 5 s", "Ctrl+Right", lambda: self.seek_relative(SEEK_STEP_S),
                                     "Jump forward in the replay")
        self.follow_action = action("Follow live", Qt.Key.Key_End,
                                    lambda: self.timeline.set_following(True), "Scroll the timeline with new results")
        self.preferences_action = action("Preferences…", "Ctrl+,", self.show_preferences,
                                         "Confidence threshold, smoothing, session folder (config.json)",
                                         sp.SP_FileDialogDetailedView)
        self.about_action = action("About", "F1", self.show_about,
                                   "Model card and credits", sp.SP_MessageBoxInformation)
        self.quit_action = action("Quit", "Ctrl+Q", self.close, "Quit realtime-ser")

    def _list_inputs_fresh(self) -> list[InputChoice]:
        """The input list, re-enumerated by PortAudio first when no audio stream is open."""
        streams_open = ((self.engine.running and self.mode == "microphone") or self.engine.player is not None
                        or clip_playing())
        if self._list_inputs is default_list_inputs and not streams_open:
            from realtime_ser.audio.devices import rescan_devices

            try:
                rescan_devices()
            except SerError:
                pass  # listing fails the same way just below, where the picker says so
        return self._list_inputs()

    def _build_toolbar(self, list_inputs) -> None:
        bar = FittingToolBar("Controls")
        bar.setObjectName("controls")
        bar.setMovable(False)
        bar.addAction(self.start_action)
        bar.fixed_style(self.start_action, Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar = bar
        self.device_picker = DevicePicker(list_inputs)
        self.device_picker.refresh()
        configured = self.config.device if isinstance(self.config.device, str) else None
        self.device_picker.select_saved(self.settings.device or configured)
        self.device_picker.activated.connect(self._on_device_chosen)
        input_label = QLabel(" &Input ")  # Alt+I opens the keyboard's way to the input list
        input_label.setBuddy(self.device_picker)
        bar.addWidget(input_label)
        bar.addWidget(self.device_picker)
        self.channel_picker = ChannelPicker()
        self.channel_picker.chosen.connect(self._on_channel_chosen)
        self.channel_action = bar.addWidget(self.channel_picker)  # a toolbar widget hides through its action
        self._offer_channels()
        self.device_picker.refreshed.connect(self._offer_channels)  # a device re-plugged with other inputs
        self.sensitivity = SensitivityControl(self.settings.sensitivity)
        self.sensitivity.changed.connect(self.set_sensitivity)
        self.sensitivity.calibrate.connect(self.calibrate_noise)
        bar.addWidget(self.sensitivity)
        bar.addSeparator()
        # Short names on the buttons, the full ones in the menus: the bar fits a 1280-pixel window.
        self.open_action.setIconText("Open")
        self.export_action.setIconText("Export")
        bar.addAction(self.open_action)
        bar.addAction(self.demo_action)
        bar.addAction(self.record_action)
        bar.addAction(self.mark_action)
        bar.addAction(self.export_action)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.about_action)
        bar.fixed_style(self.about_action, Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(bar)

    def _default_size(self) -> None:
        """First start: fill most of a small screen (1366x768), stay moderate on big ones."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        width, height = 1340, 740
        if avail is not None:
            width = min(width, int(avail.width() * 0.98))
            height = min(height, int(avail.height() * 0.94))
        self.resize(max(width, self.minimumWidth()), max(height, self.minimumHeight()))

    def _build_menus(self) -> None:
        """The same actions in a menu bar, where people look for them (and their shortcuts)."""
        self.recent_menu = RecentMenu(self.settings, self.open_recording, self)
        fill_menu_bar(self.menuBar(), [
            ("&File", [self.open_action, self.recent_menu, self.open_session_action, self.demo_action, None,
                       self.record_action, self.name_recording_action, self.export_action, None,
                       self.preferences_action, None,
                       self.quit_action]),
            ("&Audio", [self.start_action, self.calibrate_action, None, self.mark_action, self.mark_note_action,
                        self.markers_action, None, self.pause_action, self.back_action, self.forward_action]),
            ("&View", [self.follow_action]),
            ("&Help", [self.about_action]),
        ])

    # ------------------------------------------------------------------ sources

    def _repair_sessions(self) -> None:
        """Recover sessions a crash or power cut interrupted, and say so (non-blocking)."""
        if not self.sessions_dir.is_dir():
            return
        from realtime_ser.session.repair import repair_interrupted

        reports = repair_interrupted(self.sessions_dir)
        self.recovered_sessions = [r.folder for r in reports if r.repaired and not r.error]
        failed = [r for r in reports if r.error]
        if self.recovered_sessions:
            latest = self.recovered_sessions[-1]
            n = len(self.recovered_sessions)
            self.banner.show_message(
                f"Recovered {n} interrupted recording{'s' if n > 1 else ''} (latest: {latest.name}).",
                [("Replay it", lambda: self.open_recording(latest))])
        if failed:
            self.statusBar().showMessage(failed[0].summary(), 15000)

    def _reset_views(self) -> None:
        self._seek_target = None
        self.envelope.reset()
        self.mel.reset()
        self.waveform.reset_gain()
        self.timeline_model.clear()
        self.timeline.reset()
        self.now_panel.set_emotion(None)
        self.now_panel.set_summary([])
        self.now_panel.set_speaking(False)
        self.now_panel.set_level(0.0)
        self.status_indicators.show_latency(None)

    def _end_recording(self) -> Path | None:
        """Stop the pipeline, then the recording being made (so the pipeline's last events, an
        utterance cut short, are in it), and say where it was saved; its folder, if there was one."""
        if self.engine.recorder is None:
            return None
        self.engine.stop()
        saved = self.engine.stop_recording()
        self._show_not_recording()
        if saved is not None:
            self.statusBar().showMessage(saved_in(saved), 8000)
        return saved

    def _run(self, source, info: SourceInfo) -> Path | None:
        """Run a new source; a session being recorded ends with the source it records (its manifest
        names one input) and is saved: returns its folder, if there was one."""
        stop_clip()  # an utterance of the previous recording
        saved = self._end_recording()
        self._reset_views()
        self.engine.start(source, info)
        self._runs += 1
        self._finished_reported = False
        self.status_indicators.show_source(info)
        return saved

    def start_microphone(self, device: str | None = None, demo_instead: bool = True) -> bool:
        """Listen to ``device`` (its spec; None = the picker's choice), on the channel chosen for it.
        On failure: a banner, and the demo replayed unless ``demo_instead`` is False (Record asked for
        the microphone: a demo would be recorded in its place)."""
        from realtime_ser.audio.sources import MicrophoneSource

        if device is None and self.device_picker.missing:
            self.device_picker.refresh()  # the chosen input may be back
        missing = self.device_picker.missing if device is None else None  # the chosen input, not connected
        if missing and self._resolves(missing):  # not listed by that name, but a fragment or index of one
            device, missing = missing, None
        if device is None:
            device = self.device_picker.currentData()
        elif device != self.device_picker.currentData() and self.device_picker.select(device):
            self._offer_channels()
        channel = self.channel_picker.channel if device == self.device_picker.currentData() else None
        # another input (or channel) while the microphone is recorded: the recording goes on, in a new session
        recording_on = self.mode == "microphone" and self.engine.recorder is not None
        try:
            source = MicrophoneSource(device=device, channel=channel)
            saved = self._run(source, SourceInfo("microphone", self.device_picker.label(device), channel=channel))
        except SerError as exc:  # missing device, no permission, no input channels...
            self.device_picker.refresh()
            self.no_microphone(str(exc), demo_instead)
            return False
        self.mode = "microphone"
        self._asked_input = getattr(source.info, "spec", device)  # what a lost input is waited for
        self.timeline.hint = ""
        self.timeline.marker_hint = MARKER_EDIT_HINT
        self.replay_bar.hide()
        self.banner.clear_message()
        if missing:  # the default stands in: said, and the choice kept for when it is back
            self.banner.show_message(
                f"<b>{html.escape(self.device_picker.label(missing))}</b> is not connected: listening to "
                f"{html.escape(self.device_picker.label(device))} instead. It stays the chosen input: it is "
                "used again once it is back and listening starts.")
            log.warning("chosen input %s not connected; listening to %s", missing, device)
        elif device:
            self.settings.device = device
            self.device_picker.select(device)
        if (self.config.record_sessions or recording_on) and not self.record_action.isChecked():
            self.record_action.setChecked(True)  # "Record every listening session": every start, not only the first
            if saved is not None and self.engine.recorder is not None:
                self.statusBar().showMessage(f"{saved_in(saved)}; this input is recorded "
                                             f"into {shown_path(self.engine.recorder.folder)}", 10000)
        self._update_controls()
        return True

    @staticmethod
    def _resolves(spec: str) -> bool:
        """Whether ``spec`` names a connected input although the list has no entry of that name
        (``--device``'s fragments and indexes, in the settings file too). A server input's name
        (``pulse:...``) is listed whenever it is connected."""
        from realtime_ser.audio.devices import resolve_device
        from realtime_ser.audio.system_audio import PULSE_PREFIX

        if spec.startswith(PULSE_PREFIX):
            return False
        try:
            resolve_device(spec)
        except SerError:
            return False
        return True

    def no_microphone(self, reason: str, demo_instead: bool = True) -> None:
        """Say so without blocking, and show something real: the bundled demo session."""
        log.warning("no microphone: %s", reason)  # the log file goes with bug reports
        text = f"<b>No microphone available:</b> {html.escape(reason.rstrip('.'))}."
        actions = [("Retry microphone", lambda: self.start_microphone())]
        if demo_instead and self.demo_path is not None and self.demo_path.exists():
            text += f" {DEMO_PLAYING}"
            actions.append(("Play demo again", self.play_demo))
            self.banner.show_message(text, actions)
            self.open_recording(self.demo_path, keep_banner=True, remember=False)
        else:
            self.banner.show_message(text, actions)
        self.statusBar().showMessage(f"microphone: {reason}", 10000)

    def open_recording(self, path: str | Path, keep_banner: bool = False, remember: bool = True,
                       channel: int | None = None) -> bool:
        """Replay an audio file or a session folder through the pipeline, paced in real time
        (``channel``: that channel alone, 1-based; None: all channels mixed)."""
        from realtime_ser.audio.io import audio_info
        from realtime_ser.audio.file_source import FileSource

        path = Path(path)
        kind, name = "file", path.name
        try:
            audio_path = path
            folder = named_session_folder(path)
            recorder = self.engine.recorder
            if folder is not None and recorder is not None and recorder.folder is not None \
                    and recorder.folder.resolve() == folder.resolve():
                self._end_recording()  # the session being recorded: all of it, not what its header said so far
            if folder is not None:
                from realtime_ser.session.reader import Session

                session = Session.open(folder)
                audio_path = Path(session.audio_path)
                kind = "session"
                name = session_display_name(session.title, session.folder)
            duration, channels = audio_info(audio_path)
            if duration <= 0:  # refused here, as a damaged file is, before the replay on screen goes
                raise AudioFileError(f"{audio_path}: contains no audio samples")
            source = FileSource(audio_path, realtime=self.realtime_replay, channel=channel)
            self._run(source, SourceInfo(kind, name, path, duration, audio_path, channel))
        except SerError as exc:
            self.show_error(str(exc))
            return False
        if kind == "session":  # the moments marked while it was recorded, on its own clock
            for marker in session.markers:
                self.timeline_model.add_marker(marker)
            self.timeline_model.reserve_marker_ids(session.last_marker_id)
            self.timeline.refresh(0.0)
            if session.warnings:  # damaged event lines (skipped), an interrupted last line: worth knowing
                for warning in session.warnings:
                    log.warning("%s", warning)
                self.statusBar().showMessage(f"warning: {'; '.join(session.warnings)}", 15000)
        else:  # marks set on this file in an earlier replay
            self._show_file_marks(audio_path)
        self.mode = "replay"
        self._paused = False
        self.timeline.hint = "Double-click to hear it"
        self.timeline.marker_hint = f"Double-click to replay from just before it\n{MARKER_EDIT_HINT}"
        self.replay_bar.begin(name, duration, channels, channel)
        self.replay_bar.show()
        if not keep_banner:
            self.banner.clear_message()
        if self.replay_bar.audible.isChecked():
            self.set_audible(True)
        if remember:  # the folder Open starts in next time, and Open recent (not the bundled demo)
            opened = folder if folder is not None else path  # a session by its folder, however named
            self.settings.last_dir = str(opened.parent)
            self.settings.add_recent(str(opened.resolve()))
        self._update_controls()
        return True

    def _show_file_marks(self, audio_path: Path) -> None:
        marks = load_marks(self.file_marks_dir, audio_path)
        for marker in marks.markers:
            self.timeline_model.add_marker(marker)
        self.timeline_model.reserve_marker_ids(marks.last_marker_id)  # numbering goes on after a deleted mark too
        self.timeline.refresh(0.0)
        if marks.stale:
            self.statusBar().showMessage("The marks set on this file earlier are not shown: it has changed since", 10000)

    def play_demo(self) -> None:
        if self.demo_path is None or not self.demo_path.exists():
            self.show_error("the bundled demo session is missing (assets/demo)")
            return
        self.open_recording(self.demo_path, keep_banner=self.banner.isVisible(), remember=False)

    def stop(self) -> None:
        """Stop listening; a replay stops where it is, as at its end: the bar stays, and play, seek
        or a marker go on from there."""
        was_running = self.engine.running
        self.engine.stop()
        if self.mode == "replay" and self.replay_finished:
            if was_running:
                self._on_source_finished(stopped=True)
            return
        if self.record_action.isChecked():
            self.record_action.setChecked(False)
        self.mode = "idle"
        self.status_indicators.show_source(None)
        self._update_controls()

    def toggle_listening(self) -> None:
        if self.engine.running:
            self.stop()
        else:
            self.start_microphone()

    # ------------------------------------------------------------------ controls

    def _on_device_chosen(self, index: int) -> None:
        name = self.device_picker.itemData(index)
        self.device_picker.missing = None  # a choice made now replaces one that was not connected
        self._offer_channels()
        if name is None:
            return
        self.settings.device = name
        if self.mode == "microphone" and self.engine.running:
            self.start_microphone(name)

    def _offer_channels(self) -> None:
        """The channel picker for the chosen device: its inputs, the one last chosen for it selected."""
        device = self.device_picker.currentData()
        offered = self.channel_picker.offer(self.device_picker.choice(), self.settings.device_channel(device))
        self.channel_action.setVisible(offered)

    def _on_channel_chosen(self, channel: int | None) -> None:
        device = self.device_picker.currentData()
        self.settings.set_device_channel(device, channel)
        if self.mode == "microphone" and self.engine.running and self.engine.info.channel != channel:
            self.start_microphone(device)

    def set_sensitivity(self, value: int) -> None:
        self.settings.sensitivity = value
        self.engine.set_threshold_db(sensitivity_to_threshold_db(value))
        self.statusBar().showMessage(f"VAD threshold {sensitivity_to_threshold_db(value):.1f} dB above noise",
                                     2000)

    def calibrate_noise(self) -> None:
        if not self.engine.running:
            self.statusBar().showMessage("Start listening first, then calibrate in a quiet moment", 4000)
            return
        self.engine.calibrate_noise(1.0)
        self.statusBar().showMessage("Calibrating: measuring 1 s of background noise…", 3000)

    # ------------------------------------------------------------------ dialogs and messages

    def show_about(self) -> None:
        self._about = show_about(self, self.model.metadata, self.model_path, self.log_path)

    def show_preferences(self) -> None:
        """The settings dialog, window-modal but not blocking (saved when the user presses Save)."""
        dialog = PreferencesDialog(self.config, str(self.config_path), self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.settings()))
        self._preferences = dialog
        dialog.open()

    def apply_preferences(self, config: Settings) -> bool:
        """Save ``config`` to the settings file: the confidence threshold applies at once, to the results
        shown too; the session folder to the next recording; the pipeline's other settings from the next
        pipeline on (the status bar says which)."""
        try:
            save_settings(config, self.config_path, changed_from=self.config)
        except SerError as exc:
            self.show_error(str(exc))
            return False
        old, self.config = self.config, config
        self.engine.pipeline_config = config.pipeline_config()
        if not self._sessions_dir_given:
            self.sessions_dir = config.session_path
        if config.confidence_threshold != old.confidence_threshold:
            self._relabel_results()
        applied = applied_when(old, config, self._sessions_dir_given) or "Nothing changed."
        self.statusBar().showMessage(f"Preferences saved in {self.config_path}. {applied}", 10000)
        return True

    def _relabel_results(self) -> None:
        """The results shown, labelled by the confidence threshold now set (a recording keeps the
        labels its pipeline gave)."""
        threshold = self.config.confidence_threshold
        self.timeline_model.relabel(threshold)
        if self.now_panel.event is not None:
            self.now_panel.set_emotion(relabel(self.now_panel.event, threshold))
        self.now_panel.set_summary(self.timeline_model.final_events())
        now = self.envelope.end_time
        self.timeline.refresh(now)
        self._refresh_waveform(now)

    def _labelled_now(self, event: EmotionEvent) -> EmotionEvent:
        """A new result as the confidence threshold set now labels it: the running pipeline labels with
        the one it was started with (and a recording keeps that)."""
        pipeline = self.engine.pipeline
        threshold = self.config.confidence_threshold
        if pipeline is not None and pipeline.config.confidence_threshold == threshold:
            return event
        return relabel(event, threshold)

    def show_settings_problems(self, problems: list[str]) -> None:
        """Problems in config.json: the defaults are used for those settings; say which, without blocking."""
        if problems:
            lines = "<br>".join(html.escape(p, quote=False) for p in problems)
            self.banner.add_note(f"<b>Settings file:</b> {lines}")

    def show_error(self, message: str) -> None:
        """A one-line error, as text: a file named "Q&A <draft>.wav" is shown as named, not as markup."""
        self.statusBar().showMessage(message, 10000)
        self.banner.show_message(f"<b>Error:</b> {html.escape(message, quote=False)}")

    def show_internal_error(self, summary: str, count: int = 1, actions=()) -> None:
        """An unexpected error (a bug; gui/error_reporting.py): in the banner, with the log file to report."""
        actions = list(actions) + ([("Open log folder", self._open_log_folder)] if self.log_path is not None else [])
        self.banner.show_message(internal_error_html(summary, count, self.log_path), actions)

    def _open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path.parent)))

    # ------------------------------------------------------------------ what the window shows

    def _update_controls(self) -> None:
        running = self.engine.running
        icon = QStyle.StandardPixmap.SP_MediaStop if running else QStyle.StandardPixmap.SP_MediaPlay
        self.start_action.setText("Stop" if running else "Start")
        set_action_icon(self, self.start_action, icon)
        replay = self.replay_seekable  # once per call: this runs every 0.5 s
        for action in (self.pause_action, self.back_action, self.forward_action):
            action.setEnabled(replay)
        self.replay_bar.pause_button.setEnabled(replay)
        self.replay_bar.position.setEnabled(replay)
        self.sensitivity.calibrate_button.setEnabled(running)
        self.mark_action.setEnabled(running)
        self.name_recording_action.setEnabled(self.engine.recorder is not None)
        self.mark_note_action.setEnabled(running)
        self.export_action.setEnabled(bool(self.timeline_model.utterances or self.timeline_model.markers))
        self._update_demo_note()
        self._update_title()
        self._sync_marker_list(replay)

    def _update_demo_note(self) -> None:
        """The no-microphone banner says whether the demo is playing or has been played, as it is now."""
        if self.banner.isHidden():
            return
        info = self.engine.info
        playing = self.engine.running and info is not None and info.path == self.demo_path
        self.banner.replace_text(*((DEMO_PLAYED, DEMO_PLAYING) if playing else (DEMO_PLAYING, DEMO_PLAYED)))

    def _update_title(self) -> None:
        """"<source> — realtime-ser", with "recording" while a session is being recorded.

        Every title ends with the application's display name: Qt adds it to any title that does
        not (on Linux and Windows), which would name the program twice.
        """
        info = self.engine.info
        shown = IDLE_TITLE if info is None or self.mode == "idle" else info.name  # a stopped input is no source
        recorder = self.engine.recorder
        if recorder is not None:
            shown = f"● {recorder.title} — {shown} (recording)" if recorder.title else f"● {shown} (recording)"
        title = f"{shown} — {APP_NAME}"
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    # ------------------------------------------------------------------ the timer

    def tick(self) -> None:
        """Drain queues, update buffers and redraw; never blocks."""
        blocks = self.engine.drain_audio()
        events = self.engine.drain_events()
        self._ticks += 1
        if blocks:
            tail = self._feed_audio(blocks)
            if self._ticks % 2 == 0:  # ~15 Hz is plenty for a meter, and cheaper to paint
                self.now_panel.set_level(float(np.sqrt(np.mean(tail * tail))) if tail.size else 0.0)
        for event in events:
            self._handle_event(event)
        if blocks or events:
            now = self.envelope.end_time
            self._carry_reached_markers(now)
            self._refresh_waveform(now)
            self.spectrogram.refresh(now)
            # The 60 s timeline moves ~17 px/s: redraw it at 10 Hz unless a result changed.
            if self.timeline_model.dirty or self._ticks % 3 == 0:
                self.timeline.refresh(now)
            self.frames_refreshed += 1
            if self.mode == "replay":
                self.replay_bar.set_position(min(self.replay_position(), self.replay_bar.duration))
        elif not self.engine.running and not self._finished_reported:
            self._on_source_finished()
        t = time.monotonic()
        if t - self._last_status_update > 0.5:
            self._last_status_update = t
            self._update_status()

    def _refresh_waveform(self, now: float) -> None:
        """The last 10 s: the utterances that may reach into them, and the markers inside them."""
        self.waveform.refresh(now, self.timeline_model.recent(20),
                              self.timeline_model.markers_between(now - WAVEFORM_SECONDS, now))

    def _feed_audio(self, blocks: list[tuple[np.ndarray, float]]) -> np.ndarray:
        """Push drained blocks into the display buffers, following jumps of the stream clock.

        A short forward jump (audio lost) is shown as silence; a seek backwards or a
        long jump restarts the scrolling views at the new time, and a backwards seek
        drops the timeline results from there on (they are about to be recomputed).
        Returns the newest ~100 ms for the level meter.
        """
        sr = self.params.sample_rate
        expected = self.envelope.end_time
        run: list[np.ndarray] = []

        def flush() -> None:
            if run:
                audio = run[0] if len(run) == 1 else np.concatenate(run)
                self.envelope.push(audio)
                self.mel.push(audio)
                run.clear()

        for block, t in blocks:
            self._seek_landed(t)
            jump = t - expected
            if abs(jump) * sr > 2.0:
                if 0.0 < jump < WAVEFORM_SECONDS:
                    run.append(np.zeros(int(round(jump * sr)), np.float32))
                else:
                    flush()
                    self.envelope.reset(t)
                    self.mel.reset(t)
                    if jump < 0:
                        self.timeline_model.drop_from(t)
                        self.now_panel.set_summary(self.timeline_model.final_events())
                        self.now_panel.set_emotion(None)  # its result may be one just dropped
                        self.now_panel.set_speaking(False)
            run.append(block)
            expected = t + block.size / sr
        last = run[-1] if run else blocks[-1][0]
        flush()
        return last[-sr // 10 :]

    def _on_source_finished(self, stopped: bool = False) -> None:
        """The source ended (a replay's end, or Stop during a replay, or a fault)."""
        self._finished_reported = True
        self.now_panel.set_level(0.0)
        self.now_panel.set_speaking(False)
        saved = self.engine.stop_recording() if self.engine.recorder is not None else None
        self._show_not_recording()  # the recording was stopped here: one status message says all
        pipeline = self.engine.pipeline
        fault = None if stopped or pipeline is None else pipeline.error  # a file damaged part-way
        if self.mode == "replay":
            message = ("Replay stopped: play or seek to go on" if stopped
                       else f"Replay stopped at {format_time(self.replay_position())}: the rest of the "
                            "file cannot be read" if fault is not None
                       else "Replay finished: play or seek to hear it again")
            if saved:
                message = f"{message}. {saved_in(saved)}"
            self.statusBar().showMessage(message, 12000 if saved else 6000)
            self.replay_bar.set_playing(False)
            self.replay_bar.set_position(min(self.replay_position(), self.replay_bar.duration))
        elif saved is not None:
            self.statusBar().showMessage(saved_in(saved), 8000)
        self.mode = "idle" if self.mode != "replay" else "replay"
        self.engine.stop_player()
        self._update_controls()

    def _handle_event(self, event) -> None:
        if isinstance(event, SpeechEvent):
            if self.timeline_model.add_speech(event):
                self.now_panel.set_speaking(event.kind == "start")
        elif isinstance(event, EmotionEvent):
            event = self._labelled_now(event)
            if not self.timeline_model.add_emotion(event):
                return  # a stale result (an utterance a seek back dropped) or a late partial
            self.now_panel.set_emotion(event)
            if event.final:
                self.now_panel.set_summary(self.timeline_model.final_events())
            if event.final and event.latency_ms is not None:
                self.status_indicators.show_latency(event.latency_ms)
        elif isinstance(event, StatusEvent):
            self.status_log.append(event)
            self.statusBar().showMessage(f"{event.level}: {event.message}", 10000)
            if says_input_lost(event.message):
                self.input_lost(event.message)
            elif says_input_back(event.message):
                self.input_back(event.message)
            elif event.level == "error":
                # a fault of the microphone can be retried; one of a file (say, cut short) cannot
                retry = [("Retry microphone", lambda: self.start_microphone())] if self.mode == "microphone" else []
                if event.message.startswith(INTERNAL_ERROR):  # a bug stopped the pipeline: its traceback is logged
                    self.show_internal_error(event.message[len(INTERNAL_ERROR):], actions=retry)
                else:
                    self.banner.show_message(f"<b>Error:</b> {html.escape(event.message)}", retry)
            elif (event.message.startswith(NO_SPEECH) and self.engine.info is not None
                  and not self.timeline_model.utterances):  # (a replay played again from late on: not news)
                self._explain_no_speech(event.message, self.engine.info)

    def _explain_no_speech(self, message: str, info: SourceInfo) -> None:
        """A replay that held no utterance: why, and a way to try again more sensitively."""
        why = html.escape(message[len(NO_SPEECH):].lstrip(": "))
        self.now_panel.show_no_speech()  # not "waiting for speech": nothing more is coming
        text = f"<b>No speech found</b> in {html.escape(info.shown_name)}: {why}."
        if "threshold" in why:  # the advice, in the app's terms
            text += " <i>Sensitivity</i> further right is a lower threshold."
        actions = []
        if info.path is not None:
            path = info.path
            actions.append(("Replay", lambda: self.open_recording(path)))
        self.banner.show_message(text, actions)

    def _update_status(self) -> None:
        self._update_controls()
        stats = self.engine.pipeline.stats if self.engine.pipeline is not None else None
        self.status_indicators.show_stats(stats)
        live = stats is not None and self.engine.running
        self.now_panel.set_input_warning(describe_input_problem(stats.input_problem) if live else "")
        recorder = self.engine.recorder
        if recorder is not None and recorder.error:
            self.show_error(f"recording stopped: {recorder.error}")
            self.record_action.setChecked(False)
            recorder = self.engine.recorder
        self.status_indicators.show_recording(recorder.duration if recorder is not None else None)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if dropped_recording(event) is not None:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if dropped_recording(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        path = dropped_recording(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_recording(path)

    # ------------------------------------------------------------------ closing

    def quit_now(self) -> None:
        """Close without asking (Ctrl-C in the terminal, SIGTERM): a recording is stopped and kept."""
        self._quit_confirmed = True
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if self.engine.recorder is not None and not self._quit_confirmed:
            event.ignore()
            self._quit_box = ask_to_quit_recording(self, self.quit_now)  # the recording goes on meanwhile
            return
        self.timer.stop()
        self.settings.geometry = self.saveGeometry()
        self.settings.sync()
        self.engine.close()
        stop_clip()
        super().closeEvent(event)
