"""Checks for secretsmanager (being written)."""
