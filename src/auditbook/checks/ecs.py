"""Checks for ecs (being written)."""
