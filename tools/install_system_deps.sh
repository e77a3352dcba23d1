#!/usr/bin/env bash
# System packages the tests need: PortAudio (the PyPI sounddevice wheel has none
# on Linux), a PulseAudio server for the virtual-microphone tests, and the X/EGL
# libraries Qt needs even on its offscreen platform, plus Xvfb for screenshots and
# desktop-file-validate for the application-menu entry.
set -euo pipefail
pkgs=(libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins
      libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
      libxcb-render-util0 libxcb-image0 xvfb xauth fonts-dejavu-core
      desktop-file-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
