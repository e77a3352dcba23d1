"""The desktop GUI (PySide6 + pyqtgraph): the only package that imports Qt.

Modules, each with one job:

* ``app``            -- command line, QApplication, start-up (microphone or demo).
* ``main_window``    -- assembles the views and drives them from one QTimer.
* ``actions``        -- the window's actions (shortcut named in the tooltip) and the menu bar made of them.
* ``status_indicators`` -- the status bar's permanent labels: REC sign, source, rate, model, latency, dropped.
* ``recent_menu``    -- File -> Open recent.
* ``questions``      -- the window's non-blocking questions: quit while recording, a marker's note.
* ``marker_list``    -- Audio -> Markers: the session's markers, to go to, edit or delete.
* ``row_table``      -- the read-only row-picking table of those lists (sessions, markers).
* ``file_drop``      -- which dragged item the window can replay.
* ``input_devices``  -- Qt-free: the input devices the picker lists, re-enumerated for hot-plugging.
* ``engine``         -- Qt-free bridge to the streaming pipeline (queues the GUI drains).
* ``display_buffers``-- Qt-free preallocated ring buffers for waveform and spectrogram.
* ``waveform_view``, ``spectrogram_view``, ``timeline_view``, ``now_panel`` -- the views.
* ``controls``       -- toolbar (names or icons alone, as the width allows): device and channel pickers,
  sensitivity, replay transport.
* ``palette``        -- Okabe-Ito emotion colours, light/dark theme.
* ``icons``          -- play/stop glyphs in the theme's text colour, the marker flag.
* ``settings``       -- settings remembered between runs (QSettings, platform config dir).
* ``timeline_model`` -- Qt-free utterance/emotion history and CSV/JSON export.
* ``timeline_image`` -- the whole timeline as a PNG (Export timeline... as .png).
* ``about``          -- About box with the model card summary.
* ``preferences``    -- Preferences dialog over the settings shared with the CLI (config.json).
* ``desktop_entry``  -- Qt-free: the application-menu entry and icon (``--install-desktop-entry``).
"""
