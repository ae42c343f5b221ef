"""Checks for wafv2 (being written)."""
