"""Android sparse images: reading them safely, making them, cutting them to size.

Pure standard library and streamed throughout: images are GiB, so no function
here holds a whole image in memory.
"""

from .format import SparseFormatError, is_sparse
from .reader import Chunk, SparseReader, SparseSummary, expand, validate
from .runs import SourceChangedError
from .split import LimitTooSmallError, split
from .transfer import RawImage, Transfer, plan_transfer
from .writer import Piece, write_sparse

__all__ = [
    "Chunk",
    "LimitTooSmallError",
    "Piece",
    "RawImage",
    "SourceChangedError",
    "SparseFormatError",
    "SparseReader",
    "SparseSummary",
    "Transfer",
    "expand",
    "is_sparse",
    "plan_transfer",
    "split",
    "validate",
    "write_sparse",
]
