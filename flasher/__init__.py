"""TSUF core: fastboot protocol, transports, sparse images, the virtual handset.

This package never imports Qt; the desktop app and the CLI are faces on it.
"""

__version__ = "0.1.0"
