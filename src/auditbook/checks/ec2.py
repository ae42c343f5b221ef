"""Checks for ec2 (being written)."""
