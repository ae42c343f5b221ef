"""Checks for elbv2 (being written)."""
