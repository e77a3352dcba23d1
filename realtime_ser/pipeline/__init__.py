"""The streaming pipeline: audio source -> ring buffer -> VAD -> features -> model -> events."""
