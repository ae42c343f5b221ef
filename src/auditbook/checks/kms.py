"""Checks for kms (being written)."""
