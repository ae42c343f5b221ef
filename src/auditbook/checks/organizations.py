"""Checks for organizations (being written)."""
