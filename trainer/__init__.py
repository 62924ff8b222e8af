"""SPIN Trainer: a practice ground for sales cold calls."""

__version__ = "0.1.0"
