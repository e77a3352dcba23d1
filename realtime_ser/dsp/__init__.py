"""Pure signal processing: arrays in, arrays out, no threads, no I/O."""
