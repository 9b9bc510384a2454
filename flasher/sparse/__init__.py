"""Android sparse images: reading them safely, making them, cutting them to size.

Pure standard library and streamed throughout: images are GiB, so no function
here holds a whole image in memory.
"""

from .format import SparseFormatError, is_sparse
from .reader import Chunk, SparseReader, SparseSummary, expand, validate
from .runs import SourceChangedError
from .split import LimitTooSmallError, split
from .writer import Piece, write_sparse

__all__ = [
    "Chunk",
    "LimitTooSmallError",
    "Piece",
    "SourceChangedError",
    "SparseFormatError",
    "SparseReader",
    "SparseSummary",
    "expand",
    "is_sparse",
    "split",
    "validate",
    "write_sparse",
]
