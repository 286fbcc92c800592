"""A desktop trading terminal for China futures, built on vn.py."""

__version__ = "0.1.0"
