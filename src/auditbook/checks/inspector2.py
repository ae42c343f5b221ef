"""Checks for inspector2 (being written)."""
