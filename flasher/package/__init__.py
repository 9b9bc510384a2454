"""Signed firmware packages: the manifest, its signatures, trust, and safe reading of the zip.

See docs/package-format.md. `trust.verify_manifest` is the one place that decides
whether a package is trusted; everything else asks it.
"""
