"""Checks for cloudwatch (being written)."""
