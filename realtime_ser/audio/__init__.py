"""Audio input: file decoding, microphone capture and the ring buffer between them."""
