"""Gateways the terminal adds to vn.py's MainEngine (no Qt)."""
