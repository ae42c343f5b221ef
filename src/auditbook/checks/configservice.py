"""Checks for configservice (being written)."""
