"""Signed firmware packages: the manifest, its signatures, trust, and safe reading of the zip.

See docs/package-format.md. `trust.admit` is the one place that decides whether a signed
document (a package, through `trust.verify_manifest`, or a catalog) is trusted; everything
else asks it.
"""
