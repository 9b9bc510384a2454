"""Android OTA payloads (update_engine's payload.bin): read, verify and extract (docs/payload.md)."""
