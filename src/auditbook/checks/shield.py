"""Checks for shield (being written)."""
