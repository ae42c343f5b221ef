"""Checks for events (being written)."""
