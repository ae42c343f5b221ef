"""CloudTrail excerpts: the activity each control names, for the audit period."""
