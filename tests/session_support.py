"""Shared helpers for the session, config, fuzz and soak tests: real data, real model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shared corpora (``../shared/data``), or ``$REALTIME_SER_DATA``."""
    env = os.environ.get("REALTIME_SER_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def crema_clips() -> list[Path]:
    clips = sorted((data_dir() / "crema-d-samples").glob("*.wav"))
    assert clips, f"no CREMA-D sample clips under {data_dir()}"
    return clips


def speech(sample_rate: int = 16000) -> np.ndarray:
    """All six CREMA-D sample clips, concatenated: about 15 s of real speech."""
    from realtime_ser.audio.io import load_audio

    return np.concatenate([load_audio(p, sample_rate) for p in crema_clips()])


def model_metadata():
    """Metadata of the bundled model (models/ser_int8.tflite)."""
    from realtime_ser.model.emotion_model import DEFAULT_MODEL_PATH
    from realtime_ser.model.metadata import read_metadata

    return read_metadata(DEFAULT_MODEL_PATH)


def pcm16(audio: np.ndarray) -> np.ndarray:
    """What the recorder stores for float audio (to compare files sample-exactly)."""
    return np.clip(np.rint(audio * 32768.0), -32768, 32767).astype(np.int16)


def encode_with_ffmpeg(path: Path, audio: np.ndarray, sample_rate: int, codec: str = "aac",
                       stream_rate: int | None = None, video: bool = False, with_audio: bool = True,
                       muxer_options: dict | None = None, bit_rate: int | None = None) -> Path:
    """Write ``audio`` (samples, or samples x channels) with FFmpeg (PyAV): an M4A/MP4/WebM file as a
    phone, Zoom or a browser makes one, from real speech, at test time (no such file is committed).

    ``video`` adds a short black video stream first (an interview video); ``with_audio=False``
    leaves the audio out (a screen recording without sound); ``muxer_options`` go to FFmpeg's
    muxer (``{"live": "1"}``: a WebM that states no duration, as a browser's MediaRecorder writes);
    ``bit_rate`` is for encoders whose default the sample rate cannot carry (WMA's wmav2).
    """
    import av

    planar = np.ascontiguousarray(np.atleast_2d(np.asarray(audio, np.float32).T), np.float32)
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", options=muxer_options or {}) as out:
        picture = None
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        if with_audio:
            sound = out.add_stream(codec, rate=stream_rate or sample_rate, layout=layout)
            if bit_rate is not None:
                sound.bit_rate = bit_rate
            frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
            frame.sample_rate, frame.pts = sample_rate, 0
            for packet in [*sound.encode(frame), *sound.encode(None)]:
                out.mux(packet)
        if picture is not None:
            for i in range(int(10 * planar.shape[1] / sample_rate) + 1):
                image = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                image.pts = i
                for packet in picture.encode(image):
                    out.mux(packet)
            for packet in picture.encode(None):
                out.mux(packet)
    return path
