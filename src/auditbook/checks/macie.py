"""Checks for macie (being written)."""
