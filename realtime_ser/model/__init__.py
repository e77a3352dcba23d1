"""The emotion model: metadata stored inside the .tflite file and the inference backend."""
