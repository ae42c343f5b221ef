"""Checks for rds (being written)."""
