"""Applying a payload's operations to build partition images, streamed and checked like update_engine.

Each operation's data is hashed as it is read (data_sha256_hash) and each source
range before it is used (src_sha256_hash); each finished image is hashed against
new_partition_info. Images are built as NAME.img.partial and renamed only when every
requested partition checked out, so a refusal leaves nothing behind. Memory stays
bounded: REPLACE* and SOURCE_COPY move a chunk at a time; a bsdiff operation holds its
source, patch and target, each at most MAX_DIFF_BYTES.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import lzma
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from . import operations
from .bspatch import apply_bsdiff
from .errors import (DataHashMismatch, MalformedPayload, NoRoom, NoSuchPartition, PartitionHashMismatch, SourceMismatch,
                     UnsupportedOperation)
from .extents import CHUNK, ExtentWriter, read_extents
from .manifest import Operation, Partition, check_source_extents
from .reader import Payload

MAX_DIFF_BYTES = 256 << 20
PARTIAL = ".partial"
Progress = Callable[[str, int, int], None]
"""Called after each operation with the partition's name, bytes written and bytes to write."""


def extract(payload: Payload, names: Iterable[str], out_dir: Path, source_dir: Path | None = None,
            progress: Progress | None = None) -> list[Path]:
    """Build the named partitions' images in `out_dir` (NAME.img); all of them checked, or none written."""
    partitions = select_partitions(payload, names)
    sources = {partition.name: _source(partition, source_dir, payload.manifest.block_size)
               for partition in partitions}
    out_dir.mkdir(parents=True, exist_ok=True)
    needed, free = sum(partition.new_info.size for partition in partitions), shutil.disk_usage(out_dir).free
    if needed > free:
        raise NoRoom(f"the images need {needed} bytes; {out_dir} has {free} free")
    partials = [out_dir / f"{partition.name}.img{PARTIAL}" for partition in partitions]
    try:
        for partition, partial in zip(partitions, partials, strict=True):
            _build(payload, partition, partial, sources[partition.name], progress)
        finals = [partial.with_suffix("") for partial in partials]
        for partial, final in zip(partials, finals, strict=True):
            os.replace(partial, final)
        return finals
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)


def select_partitions(payload: Payload, names: Iterable[str]) -> list[Partition]:
    """The named partitions, or NoSuchPartition naming one the payload does not hold."""
    selected = []
    for name in names:
        if (partition := payload.manifest.partition(name)) is None:
            known = ", ".join(p.name for p in payload.manifest.partitions)
            raise NoSuchPartition(f"the payload has no partition {name!r}", f"It holds: {known}.")
        selected.append(partition)
    return selected


def _source(partition: Partition, source_dir: Path | None, block_size: int) -> Path | None:
    """The source image an incremental partition reads, checked against old_partition_info before any write."""
    if not partition.incremental:
        return None
    if source_dir is None:
        raise SourceMismatch(f"partition {partition.name} is incremental: it needs the source build's "
                             f"{partition.name}.img (--source-dir)")
    path = source_dir / f"{partition.name}.img"
    if not path.is_file():
        raise SourceMismatch(f"partition {partition.name} is incremental and {path} does not exist")
    size = path.stat().st_size
    old = partition.old_info
    if old is not None and old.size and size != old.size:
        raise SourceMismatch(f"{path} is {size} bytes; the payload applies to a {partition.name} of {old.size}")
    check_source_extents(partition, size // block_size, block_size)
    if old is not None and old.sha256 and _file_sha256(path) != old.sha256:
        raise SourceMismatch(f"{path} is not the {partition.name} this payload applies to (old_partition_info "
                             "hash differs)")
    return path


def _build(payload: Payload, partition: Partition, out: Path, source_path: Path | None,
           progress: Progress | None) -> None:
    block_size = payload.manifest.block_size
    total, done_bytes = partition.output_bytes(block_size), 0
    with open(out, "wb") as sink, (open(source_path, "rb") if source_path else contextlib.nullcontext()) as source:
        sink.truncate(partition.new_info.size)
        for index, op in enumerate(partition.operations):
            where = f"partition {partition.name}: operation {index} ({op.name})"
            writer = ExtentWriter(sink, op.dst_extents, block_size, where)
            _apply(payload, op, writer, source, block_size, where)
            done_bytes += writer.capacity
            if progress:
                progress(partition.name, done_bytes, total)
        sink.truncate(partition.new_info.size)
    if partition.new_info.sha256 and _file_sha256(out) != partition.new_info.sha256:
        raise PartitionHashMismatch(f"the {partition.name} image built from the payload is not the one its "
                                    "manifest hashed (new_partition_info); nothing was written")


def _apply(payload: Payload, op: Operation, writer: ExtentWriter, source: BinaryIO, block_size: int,
           where: str) -> None:
    if op.type in (operations.ZERO, operations.DISCARD):
        writer.fill_zeros()
    elif op.type in (operations.REPLACE, operations.REPLACE_BZ, operations.REPLACE_XZ):
        data = _checked(payload.blob(op.data_offset, op.data_length, where), op.data_sha256, where, "data")
        for chunk in _decompressed(op.type, data, where):
            writer.write(chunk)
        writer.fill_zeros()
    elif op.type == operations.SOURCE_COPY:
        chunks = read_extents(source, op.src_extents, block_size, None, f"{where}: the source image")
        for chunk in _checked(chunks, op.src_sha256, where, "source"):
            writer.write(chunk)
    elif op.type in operations.DIFFS:
        writer.write(_patched(payload, op, source, block_size, writer.capacity, where))
        writer.fill_zeros()
    else:  # the manifest refused it already; kept so a new type never falls through silently
        raise UnsupportedOperation(f"{where}: TSUF does not apply {op.name}")


def _patched(payload: Payload, op: Operation, source: BinaryIO, block_size: int, capacity: int, where: str) -> bytes:
    source_length = op.src_length or sum(count for _, count in op.src_extents) * block_size
    target_length = op.dst_length or capacity
    if max(source_length, target_length, op.data_length) > MAX_DIFF_BYTES or target_length > capacity:
        raise MalformedPayload(f"{where} diffs {source_length} bytes into {target_length} with a "
                               f"{op.data_length}-byte patch: past {MAX_DIFF_BYTES >> 20} MiB or its extents")
    old = b"".join(_checked(read_extents(source, op.src_extents, block_size, source_length,
                                         f"{where}: the source image"), op.src_sha256, where, "source"))
    if len(old) != source_length:
        raise MalformedPayload(f"{where} reads {source_length} source bytes; its extents hold {len(old)}")
    patch = b"".join(_checked(payload.blob(op.data_offset, op.data_length, where), op.data_sha256, where, "data"))
    return apply_bsdiff(old, patch, target_length, where)


def _checked(chunks: Iterable[bytes], sha256: bytes, where: str, what: str) -> Iterator[bytes]:
    """The chunks, hashed as they pass; the mismatch is raised after the last (the partial file goes)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if sha256 and digest.digest() != sha256:
        if what == "source":
            raise SourceMismatch(f"{where}: the source image's blocks are not those the payload was made from")
        raise DataHashMismatch(f"{where}: its data is not what the manifest hashed (data_sha256_hash); "
                               "nothing was written")


def _decompressed(op_type: int, chunks: Iterable[bytes], where: str) -> Iterator[bytes]:
    if op_type == operations.REPLACE:
        yield from chunks
        return
    decompressor = bz2.BZ2Decompressor() if op_type == operations.REPLACE_BZ else lzma.LZMADecompressor(
        lzma.FORMAT_XZ)
    try:
        for chunk in chunks:
            if decompressor.eof:
                raise MalformedPayload(f"{where}: bytes follow the end of its compressed data")
            yield decompressor.decompress(chunk, max_length=CHUNK)
            while not decompressor.eof and not decompressor.needs_input:
                yield decompressor.decompress(b"", max_length=CHUNK)
    except (OSError, lzma.LZMAError, EOFError) as error:
        raise MalformedPayload(f"{where}: its data does not decompress ({error})") from None
    if not decompressor.eof or decompressor.unused_data:
        raise MalformedPayload(f"{where}: its compressed data is cut short or followed by other bytes")


def _file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.digest()

