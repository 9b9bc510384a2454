"""ADB: the sans-IO codec both ends share, the host's links and its sideload client.

See docs/protocols/adb.md.
"""
