"""realtime-ser: live speech emotion recognition on a laptop CPU.

Layers, from the bottom up:

* ``realtime_ser.audio``    -- decoding files, microphone capture, ring buffer.
* ``realtime_ser.dsp``      -- pure signal processing: features, VAD.
* ``realtime_ser.model``    -- model metadata and the TFLite inference backend.
* ``realtime_ser.pipeline`` -- the streaming worker that turns audio into emotion events.
* ``realtime_ser.cli`` / ``realtime_ser.gui`` -- the two front ends.
"""

__version__ = "0.1.0"
