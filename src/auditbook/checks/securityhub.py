"""Checks for securityhub (being written)."""
