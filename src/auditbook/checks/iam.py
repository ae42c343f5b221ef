"""Checks for iam (being written)."""
