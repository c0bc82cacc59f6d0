"""gdsim: a terminal teaching simulator for gradient descent."""

__version__ = "0.1.0"
