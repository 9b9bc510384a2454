"""The firmware cache: images and packages kept by SHA-256 so deltas find their source locally."""
