"""Settings remembered between runs, stored in the platform's config location.

``~/.config/realtime-ser/gui.ini`` on Linux, ``~/Library/Application Support``
on macOS, ``%LOCALAPPDATA%`` on Windows (via platformdirs).  The environment
variable ``REALTIME_SER_CONFIG_DIR`` overrides the folder (tests, portable use).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from realtime_ser.config import config_dir

MAX_RECENT = 8


def default_settings_path() -> Path:
    return config_dir() / "gui.ini"  # beside config.json


class GuiSettings:
    """Typed accessors over a QSettings INI file (device, sensitivity, geometry, ...)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_settings_path()
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _get(self, key: str, default, kind):
        value = self._qs.value(key, default)
        try:
            return kind(value) if value is not None else default
        except (TypeError, ValueError):
            return default

    @property
    def device(self) -> str | None:
        value = self._qs.value("audio/device", "")
        return str(value) or None

    @device.setter
    def device(self, name: str | None) -> None:
        self._qs.setValue("audio/device", name or "")

    def device_channel(self, device: str | None) -> int | None:
        """The input channel last chosen for ``device`` (1-based), None if none was."""
        channels = self._device_channels()
        value = channels.get(device or "")
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None

    def set_device_channel(self, device: str | None, channel: int | None) -> None:
        channels = self._device_channels()
        if channel is None:
            channels.pop(device or "", None)
        else:
            channels[device or ""] = int(channel)
        # one JSON value: device names hold the '/' and ',' that QSettings keys and lists treat specially
        self._qs.setValue("audio/device_channels", json.dumps(channels, ensure_ascii=False))

    def _device_channels(self) -> dict:
        try:
            value = json.loads(str(self._qs.value("audio/device_channels", "") or "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def sensitivity(self) -> int:
        """VAD sensitivity slider position, 0 (only loud speech) .. 100 (everything)."""
        return max(0, min(100, self._get("audio/sensitivity", 50, int)))

    @sensitivity.setter
    def sensitivity(self, value: int) -> None:
        self._qs.setValue("audio/sensitivity", int(value))

    @property
    def audible_replay(self) -> bool:
        return str(self._qs.value("replay/audible", "false")).lower() == "true"

    @audible_replay.setter
    def audible_replay(self, on: bool) -> None:
        self._qs.setValue("replay/audible", "true" if on else "false")

    @property
    def last_dir(self) -> str:
        return str(self._qs.value("files/last_dir", "") or "")

    @last_dir.setter
    def last_dir(self, folder: str) -> None:
        self._qs.setValue("files/last_dir", folder)

    @property
    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, data: QByteArray) -> None:
        self._qs.setValue("window/geometry", data)

    @property
    def recent(self) -> list[str]:
        """Recordings and session folders opened lately, newest first (File -> Open recent)."""
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):  # an INI list of one comes back as a plain string
            value = [value]
        return [str(v) for v in value or [] if v][:MAX_RECENT] if isinstance(value, (list, tuple)) else []

    @recent.setter
    def recent(self, paths: list[str]) -> None:
        self._qs.setValue("files/recent", list(paths)[:MAX_RECENT])

    def add_recent(self, path: str) -> None:
        self.recent = [path] + [p for p in self.recent if p != path]

    def sync(self) -> None:
        self._qs.sync()
