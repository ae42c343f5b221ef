"""Checks for logs (being written)."""
