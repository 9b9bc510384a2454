"""The guided mode: one phone, four plain steps, for end users (docs/gui.md#guided-mode)."""
