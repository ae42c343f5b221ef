"""Checks for dynamodb (being written)."""
