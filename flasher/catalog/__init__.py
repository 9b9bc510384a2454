"""The signed update catalog: which packages exist, where to get them, and whether to believe it."""
