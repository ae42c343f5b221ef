"""Checks for s3 (being written)."""
