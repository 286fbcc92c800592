"""Dialogs of the terminal."""
