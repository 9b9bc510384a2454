"""Choosing the package for each handset: the newest allowed build, by the smallest safe path."""
