"""Checks for accessanalyzer (being written)."""
