"""Checks for ecr (being written)."""
