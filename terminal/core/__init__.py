"""Lowest layer: data directory, vn.py life cycle, event bridge, settings, logging."""
