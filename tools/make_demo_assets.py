#!/usr/bin/env python3
"""Build the bundled demo session, assets/demo/demo-session.flac, from the six CREMA-D clips.

The clips (one per emotion, redistributable under the Open Database License /
Database Contents License, see assets/demo/CREDITS.md) are joined with pauses
between them, so the voice-activity detector sees six separate utterances.
The pauses carry very faint deterministic noise (about -72 dBFS) instead of
digital silence, like a real quiet room.

    python tools/make_demo_assets.py [--data ../shared/data] [--out assets/demo/demo-session.flac]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python tools/make_demo_assets.py` finds `tools`

from tools import argument_parser  # noqa: E402

SAMPLE_RATE = 16000
ORDER = ["NEU", "HAP", "ANG", "SAD", "FEA", "DIS"]  # CREMA-D emotion codes = file names
LEAD_S, GAP_S, TAIL_S = 1.0, 1.6, 1.2
NOISE_RMS = 10 ** (-72 / 20)


def default_data_dir() -> Path:
    return Path(os.environ.get("REALTIME_SER_DATA", REPO.parent / "shared" / "data"))


def build(clip_dir: Path, seed: int = 4) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The demo audio and, per clip, (code, start s, end s)."""
    from realtime_ser.audio.io import load_audio

    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    spans = []
    t = 0.0

    def pause(seconds: float) -> None:
        nonlocal t
        parts.append((rng.standard_normal(int(seconds * SAMPLE_RATE)) * NOISE_RMS).astype(np.float32))
        t += seconds

    pause(LEAD_S)
    for i, code in enumerate(ORDER):
        matches = sorted(clip_dir.glob(f"{code}.*"))
        if not matches:
            raise SystemExit(f"make_demo_assets: {clip_dir}: no clip {code}.* (CREMA-D samples expected)")
        clip = load_audio(matches[0], SAMPLE_RATE)
        clip = clip + (rng.standard_normal(clip.size) * NOISE_RMS).astype(np.float32)
        parts.append(clip.astype(np.float32))
        spans.append((code, t, t + clip.size / SAMPLE_RATE))
        t += clip.size / SAMPLE_RATE
        pause(GAP_S if i < len(ORDER) - 1 else TAIL_S)
    return np.concatenate(parts), spans


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("make_demo_assets", __doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="corpus folder holding crema-d-samples/")
    parser.add_argument("--out", type=Path, default=REPO / "assets" / "demo" / "demo-session.flac",
                        help="the demo file to write (default: assets/demo/demo-session.flac)")
    args = parser.parse_args(argv)
    clip_dir = (args.data or default_data_dir()) / "crema-d-samples"
    from realtime_ser.errors import SerError

    try:
        audio, spans = build(clip_dir)
    except SerError as exc:  # a sample that is not audio (the missing ones are reported by build)
        print(f"make_demo_assets: {exc}", file=sys.stderr)
        return 2
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(args.out, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    except (OSError, sf.LibsndfileError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        print(f"make_demo_assets: {args.out}: cannot write ({reason})", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({audio.size / SAMPLE_RATE:.1f} s)")
    for code, start, end in spans:
        print(f"  {code}  {start:6.2f} - {end:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
