"""The payload readers on arbitrary and near-valid bytes: a result or a named PayloadError, never another
exception."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from flasher.payload.bspatch import apply_bsdiff
from flasher.payload.errors import PayloadError
from flasher.payload.manifest import parse_manifest
from flasher.payload.properties import parse_properties
from flasher.payload.reader import read_payload
from flasher.payload.signatures import parse_signatures
from tests.payload import generator
from tests.payload.generator import f_bytes, f_varint, operation


def _parses_or_refuses(parse, *args):
    try:
        parse(*args)
    except PayloadError:
        pass


@given(st.binary(max_size=2000))
def test_manifest_bytes(data):
    _parses_or_refuses(parse_manifest, data, 1 << 20)


# Near-valid manifests: real messages with numbers a hostile payload would pick.
NUMBERS = st.one_of(st.integers(0, 64), st.integers(0, (1 << 64) - 1))


@given(st.lists(st.tuples(st.integers(0, 15), NUMBERS, NUMBERS, NUMBERS, NUMBERS), max_size=6), NUMBERS, NUMBERS)
def test_near_valid_manifests(ops, size, block_size):
    partition = f_bytes(1, b"boot") + f_bytes(7, generator.partition_info(size, bytes(32)))
    partition += b"".join(f_bytes(8, operation(op_type, [(start, count)], src=[(count, start)], data_offset=offset,
                                                data_length=count, data_sha256=bytes(32)))
                          for op_type, start, count, offset, _ in ops)
    _parses_or_refuses(parse_manifest, f_varint(3, block_size) + f_bytes(13, partition), 1 << 20)


@given(st.binary(max_size=600))
def test_signatures_and_properties(data):
    _parses_or_refuses(parse_signatures, data, "signatures")
    _parses_or_refuses(parse_properties, data, "properties")


@settings(max_examples=50)
@given(st.binary(max_size=400), st.sampled_from([b"BSDIFF40", b"BSDF2\x02\x02\x02", b"BSDF2\x01\x00\x09"]))
def test_patches(data, magic):
    _parses_or_refuses(apply_bsdiff, bytes(4096), magic + data, 4096, "a fuzzed operation")


@settings(max_examples=50)
@given(st.binary(max_size=300), st.integers(0, 1 << 40), st.integers(0, 1 << 20))
def test_payload_files(tmp_path_factory, data, manifest_size, signature_size):
    path = tmp_path_factory.mktemp("fuzz") / "payload.bin"
    path.write_bytes(b"CrAU" + struct.pack(">QQI", 2, manifest_size, signature_size) + data)
    _parses_or_refuses(read_payload, path)
