"""Test-wide settings that must be in place before NumPy is imported."""

import os

# As the gdsim command does (gdsim/cli.py): the engine's arrays are small, and OpenBLAS's threads
# made the 600-run local-minima-networks scenario several times slower on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
