"""Delta packages: target images made from the source build's images, window by window.

`build.py` diffs a source and a target build into a signed delta package, `blocks.py`
finds each target block in the source (copies), constant blocks (fills) and the
residue left for BSDIFF40, `apply.py` reconstructs a target image on the host,
`bsdiff.py` makes one window's patch and reads and checks it before bsdiff4 sees it,
`windows.py` cuts an image into windows and follows moved content. See
docs/package-format.md.
"""
