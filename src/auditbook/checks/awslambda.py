"""Checks for awslambda (being written)."""
