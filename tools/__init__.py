"""Training, export, evaluation and benchmark tools for the bundled emotion model.

Only these tools import TensorFlow; the program itself runs on LiteRT alone.
"""
