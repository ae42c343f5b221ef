"""Checks for residency (being written)."""
