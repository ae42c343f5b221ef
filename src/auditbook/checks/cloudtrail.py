"""Checks for cloudtrail (being written)."""
