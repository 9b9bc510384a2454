"""Scanning an image file (raw or sparse) into a compact list of runs.

Before a host can cut an image into sparse pieces it must know which blocks are
data, which are one repeated 32-bit value, and (for sparse input) which are
DONT_CARE. That map is kept as three flat arrays, about 17 bytes a run, so even
a pathological image of alternating blocks costs a few MB per GiB; the data
itself stays in the source file and is read again when a piece is streamed.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_right
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator, Union

from ..errors import FlasherError
from .format import U32_MAX, ImageTooLargeError, check_block_size, is_sparse
from .reader import SparseReader

RAW = 0
FILL = 1
DONT_CARE = 2

# Read buffer for scanning raw images: large enough that per-read costs vanish,
# small enough to stay out of the way.
SCAN_BUFFER = 1 << 22
ZERO_WORD = bytes(4)

Source = Union[str, "os.PathLike[str]", Callable[[], BinaryIO], BinaryIO]


class SourceChangedError(FlasherError):
    """The image file changed between scanning it and sending it."""

    hint = "Do not modify the image while it is being flashed; start the flash again."


class ImageSource:
    """Opens the image again for each pass: by path, by an opener, or a shared file object.

    A shared file object is never closed here, and every read seeks first, so
    interleaved streams still read the right bytes.
    """

    def __init__(self, source: Source):
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            self._open: Callable[[], BinaryIO] = lambda: open(path, "rb")
            self._owned = True
            self.name = path
        elif hasattr(source, "read") and hasattr(source, "seek"):
            fileobj = source
            self._open = lambda: fileobj  # type: ignore[assignment,return-value]
            self._owned = False
            self.name = getattr(source, "name", "<file>")
        elif callable(source):
            self._open = source
            self._owned = True
            self.name = "<image>"
        else:
            raise TypeError("source must be a path, a callable opening the file, or a file object")

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        f = self._open()
        try:
            yield f
        finally:
            if self._owned:
                f.close()


class Runs:
    """Consecutive runs covering blocks [0, total_blocks) of the expanded image.

    Run i covers blocks [starts[i], starts[i+1]); values[i] is the source byte
    offset of its first block (RAW), its 32-bit pattern as little-endian int
    (FILL), or 0 (DONT_CARE). Adjacent runs that could be one are merged.
    """

    def __init__(self, block_size: int, source_size: int, sparse_input: bool):
        self.block_size = block_size
        self.source_size = source_size
        # Raw input may end mid-block: bytes past source_size read as zeros.
        self.pad_tail = not sparse_input
        self.sparse_input = sparse_input
        self.kinds = array("B")
        self.starts = array("Q")
        self.values = array("Q")
        self.total_blocks = 0

    def __len__(self) -> int:
        return len(self.kinds)

    def add(self, kind: int, count: int, value: int = 0) -> None:
        if count <= 0:
            return
        kinds, values = self.kinds, self.values
        if kinds and kinds[-1] == kind:
            last = values[-1]
            prev_blocks = self.total_blocks - self.starts[-1]
            if (kind == DONT_CARE or (kind == FILL and last == value)
                    or (kind == RAW and last + prev_blocks * self.block_size == value)):
                self.total_blocks += count
                return
        kinds.append(kind)
        self.starts.append(self.total_blocks)
        values.append(value)
        self.total_blocks += count

    def end(self, i: int) -> int:
        return self.starts[i + 1] if i + 1 < len(self.starts) else self.total_blocks

    def index_at(self, block: int) -> int:
        """Index of the run holding `block`."""
        return bisect_right(self.starts, block) - 1

    def finish(self) -> "Runs":
        _check_blocks(self.total_blocks, self.block_size)
        return self


def _check_blocks(total_blocks: int, block_size: int) -> None:
    if total_blocks > U32_MAX:
        raise ImageTooLargeError(
            f"image has {total_blocks} blocks of {block_size} bytes; a sparse image holds "
            f"at most {U32_MAX}",
            hint="Use a larger block size or a smaller image.")


def scan(source: Source, block_size: int = 4096, *, use_fill: bool = True) -> Runs:
    """Map an image file into runs. Sparse input (by magic) keeps its own block size.

    A file that starts with the sparse magic is read as sparse and a malformed
    one raises SparseFormatError: it is never silently sent as raw bytes.
    """
    check_block_size(block_size)
    src = ImageSource(source)
    with src.open() as f:
        f.seek(0)
        head = f.read(4)
        f.seek(0)
        if is_sparse(head):
            return _scan_sparse(f)
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        return _scan_raw(f, size, block_size, use_fill)


def _scan_sparse(f: BinaryIO) -> Runs:
    reader = SparseReader(f)
    size = f.seek(0, os.SEEK_END)
    runs = Runs(reader.block_size, size, sparse_input=True)
    bs = reader.block_size
    for chunk in reader.chunks():
        blocks = chunk.out_length // bs
        if chunk.kind == "raw":
            runs.add(RAW, blocks, chunk.source_offset)
        elif chunk.kind == "fill":
            runs.add(FILL, blocks, int.from_bytes(chunk.fill, "little"))
        elif chunk.kind == "dont_care":
            runs.add(DONT_CARE, blocks)
    return runs.finish()


def _read_full(f: BinaryIO, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _first_words_diff(data: memoryview, nblocks: int, words: int) -> bytes:
    """Per block, the XOR of its first two 32-bit words: a zero word marks a block that may be constant.

    Two strided copies and one big-integer XOR over a whole buffer keep the
    per-block Python work to those candidates, so data blocks cost next to
    nothing to scan.
    """
    if words == 1:
        return bytes(4 * nblocks)  # one-word blocks are all constant
    word_view = data.cast("I")
    first = int.from_bytes(word_view[0::words].tobytes(), "little")
    second = int.from_bytes(word_view[1::words].tobytes(), "little")
    return (first ^ second).to_bytes(4 * nblocks, "little")


def _zero_blocks_from(startswith, zeros: memoryview, block: int, nblocks: int, bs: int) -> int:
    """Length in blocks of the zero stretch starting at `block`, itself zero.

    Galloping then halving keeps it to a few memcmp calls however long the stretch.
    """
    n, step = 1, 1
    while block + n + step <= nblocks and startswith(zeros[:step * bs], (block + n) * bs):
        n += step
        step *= 2
    while step > 1:
        step //= 2
        if block + n + step <= nblocks and startswith(zeros[:step * bs], (block + n) * bs):
            n += step
    return n


def _scan_raw(f: BinaryIO, size: int, bs: int, use_fill: bool) -> Runs:
    runs = Runs(bs, size, sparse_input=False)
    total_blocks = -(-size // bs)
    _check_blocks(total_blocks, bs)
    if not use_fill:
        # Everything travels as data; nothing to look at.
        runs.add(RAW, total_blocks, 0)
        return runs.finish()

    bufsize = max(bs, SCAN_BUFFER // bs * bs)
    buf = bytearray(bufsize)
    view = memoryview(buf)
    zero_buf = bytes(bufsize)
    zero_block = bytes(bs)
    zero_view = memoryview(zero_buf)
    words = bs // 4
    offset = 0
    # The run being built; flushed into `runs` when the next stretch differs.
    kind, value, count = -1, 0, 0
    pattern_block, pattern = b"", b""
    while offset < size:
        want = min(bufsize, size - offset)
        got = _read_full(f, view[:want])
        if got != want:
            raise SourceChangedError(
                f"{getattr(f, 'name', 'image')} ended at byte {offset + got} while being read; "
                f"it was {size} bytes")
        nbytes = got
        if nbytes % bs:
            # Short final block: zeros stand in for the missing bytes, as on the device.
            pad = bs - nbytes % bs
            buf[nbytes:nbytes + pad] = bytes(pad)
            nbytes += pad
        nblocks = nbytes // bs
        # Fast path for the common all-zero stretch: one memcmp per buffer.
        all_zero = buf == zero_buf if nbytes == bufsize else buf.startswith(zero_buf[:nbytes])
        if all_zero:
            if kind == FILL and value == 0:
                count += nblocks
            else:
                runs.add(kind, count, value)
                kind, value, count = FILL, 0, nblocks
            offset += bufsize
            continue
        startswith = buf.startswith
        done = 0  # blocks of this buffer already classified
        diff = _first_words_diff(view[:nbytes], nblocks, words)
        at = diff.find(ZERO_WORD)
        while at >= 0:
            if at % 4:
                at = diff.find(ZERO_WORD, at + 1)  # zero bytes straddling two words
                continue
            b = at // 4
            if b > done:  # blocks between candidates are data
                k, v, n = RAW, offset + done * bs, b - done
                if kind == RAW:
                    count += n
                else:
                    runs.add(kind, count, value)
                    kind, value, count = k, v, n
            o = b * bs
            if startswith(zero_block, o):
                n = _zero_blocks_from(startswith, zero_view, b, nblocks, bs)
                if kind == FILL and value == 0:
                    count += n
                else:
                    runs.add(kind, count, value)
                    kind, value, count = FILL, 0, n
                done = b + n
                at = diff.find(ZERO_WORD, done * 4)
                continue
            p = buf[o:o + 4]
            if p != pattern:
                pattern = bytes(p)
                pattern_block = pattern * words
            if startswith(pattern_block, o):
                k, v = FILL, int.from_bytes(p, "little")
            else:
                k, v = RAW, offset + o
            if k == kind and (k == RAW or v == value):
                count += 1
            else:
                runs.add(kind, count, value)
                kind, value, count = k, v, 1
            done = b + 1
            at = diff.find(ZERO_WORD, done * 4)
        if nblocks > done:
            if kind == RAW:
                count += nblocks - done
            else:
                runs.add(kind, count, value)
                kind, value, count = RAW, offset + done * bs, nblocks - done
        offset += bufsize
    runs.add(kind, count, value)
    return runs.finish()
