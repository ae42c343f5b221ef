"""Checks for elasticache (being written)."""
