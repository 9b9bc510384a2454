"""Updating a handset: what gets written where, and knowing it worked."""
