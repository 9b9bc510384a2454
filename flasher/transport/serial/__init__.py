"""Fastboot over a serial line: AT identification, download mode, a reliable link layer."""
