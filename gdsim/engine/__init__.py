"""The NumPy engine: problems, optimizers, schedules and the vectorized simulation.

Pure NumPy: nothing here imports textual, rich or plotext (a test enforces it).
"""
