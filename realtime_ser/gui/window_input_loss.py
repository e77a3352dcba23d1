"""The main window while a live input goes away and comes back (a USB microphone pulled out).

A mixin of :class:`realtime_ser.gui.main_window.MainWindow`, which owns the state it uses
(``engine``, ``banner``, ``status_indicators``, ``mode``). The source retries the device by
itself and stands in the default input meanwhile (audio.sources): the window says what happened
and what is heard now, and offers no "Retry": restarting the microphone would end the recording
being made, and the source is already retrying.
"""

from __future__ import annotations

import html
import logging

log = logging.getLogger("realtime_ser.gui")


class InputLossActions:
    """What the window does with a live input's "lost" and "reconnected"/"back" status events."""

    #: The banner text shown for the input's loss, while it still applies (else None).
    _input_banner: str | None = None
    #: The input listening started on (its spec): the one a lost input is waited for.
    _asked_input: str | None = None

    def input_lost(self, message: str) -> None:
        log.warning("%s", message)  # a lost device belongs in a bug report
        self._input_banner = (f"<b>Input lost:</b> {html.escape(message)}. Listening goes on by itself "
                              "when it is back (or on the default input).")
        self.banner.show_message(self._input_banner)

    def input_back(self, message: str) -> None:
        """Listening again, on the device asked for or on another one: the banner and the names
        shown (status bar, title, a session recorded from now on) say which."""
        log.info("%s", message)
        source, info = self.engine.source, self.engine.info
        device = getattr(source, "info", None)
        if info is None or device is None or self.mode != "microphone":
            return
        info.name = device.name
        self.status_indicators.show_source(info)
        self._update_title()
        shown = self._input_banner
        if shown is None or self.banner.message != shown:
            return  # dismissed, or replaced by a newer message
        if device.spec == self._asked_input:
            self._input_banner = None
            self.banner.clear_message()
        else:
            self._input_banner = (f"<b>Input changed:</b> the chosen input stopped delivering audio; now "
                                  f"listening to {html.escape(message.split(': ', 1)[1])}.")
            self.banner.show_message(self._input_banner)
