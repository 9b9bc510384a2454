"""TSUF desktop app (PySide6). A face on flasher's public API."""
