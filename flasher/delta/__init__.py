"""Delta packages: target images made from the source build's images by windowed BSDIFF40 patches.

`build.py` diffs a source and a target build into a signed delta package, `apply.py`
reconstructs a target image on the host, `bsdiff.py` reads and checks one window's
patch before bsdiff4 sees it, `windows.py` cuts an image into windows. See
docs/package-format.md.
"""
