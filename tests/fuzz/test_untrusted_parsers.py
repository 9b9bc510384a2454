"""Every parser that reads bytes from outside: any input gives a result or a named error.

Hypothesis feeds each one arbitrary bytes (and near-valid ones); an exception
other than the parser's named FlasherError, or a hang, is a bug.
"""

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasher.errors import FlasherError
from flasher.package.archive import PackageReader
from flasher.package.android_info import parse_android_info
from flasher.package.manifest import parse_manifest
from flasher.package.trust import TrustStore
from flasher.protocol.host import HostProtocol
from flasher.protocol.variables import split_all_line
from flasher.transport import udp_packets



@given(st.lists(st.binary(max_size=300), max_size=8), st.sampled_from(["getvar", "download", "upload"]))
def test_fastboot_responses(packets, kind):
    host = HostProtocol(max_info=4)
    if kind == "download":
        host.send_command("download:00000010", send_size=16)
    elif kind == "upload":
        host.send_command("upload", receive_limit=64)
    else:
        host.send_command("getvar:product")
    for packet in packets:
        try:
            host.receive(packet)
        except FlasherError:
            return


@given(st.binary(max_size=600))
def test_udp_datagrams(datagram):
    try:
        packet = udp_packets.decode(datagram)
    except FlasherError:
        return
    for parse in (udp_packets.parse_query_payload, udp_packets.parse_init_payload):
        try:
            parse(packet.payload)
        except FlasherError:
            pass


@given(st.binary(max_size=2000))
def test_manifests(data):
    try:
        parse_manifest(data)
    except FlasherError:
        pass


@given(st.text(max_size=2000))
def test_android_info(text):
    try:
        parse_android_info(text)
    except FlasherError:
        pass


@given(st.text(max_size=300))
def test_getvar_all_lines(line):
    pair = split_all_line(line)
    assert pair is None or all(isinstance(part, str) for part in pair)


@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
                       st.binary(max_size=200), max_size=6),
       st.binary(max_size=64))
def test_package_archives(tmp_path_factory, entries, tail):
    """Random zips (and zips with garbage appended) never get past the reader unnamed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    path = tmp_path_factory.mktemp("pkg") / "random.zip"
    path.write_bytes(buffer.getvalue() + tail)
    try:
        PackageReader(path, TrustStore(path.parent / "trust")).close()
    except FlasherError:
        return
    raise AssertionError("an unsigned random archive was accepted")


@given(st.binary(max_size=4000))
def test_package_files_that_are_not_zips(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("pkg") / "junk.zip"
    path.write_bytes(data)
    try:
        PackageReader(path, TrustStore(path.parent / "trust")).close()
    except FlasherError:
        return
    raise AssertionError("junk was accepted as a package")


@pytest.fixture(scope="module")
def signed_package(tmp_path_factory):
    from tests.support.packages import make_keys, make_package
    folder = tmp_path_factory.mktemp("signed")
    keyring = make_keys(folder)
    return make_package(folder, keyring, sizes={"boot": 64 << 10, "system": 128 << 10}).read_bytes(), keyring


@given(st.data())
def test_damaged_signed_packages(tmp_path_factory, signed_package, data):
    """A byte changed anywhere in a signed package: refused by name, or (if the change
    is in bytes nothing reads) every image still matches its signed hash."""
    package, keyring = signed_package
    offset = data.draw(st.integers(0, len(package) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != package[offset]))
    path = tmp_path_factory.mktemp("damaged") / "package.zip"
    path.write_bytes(package[:offset] + bytes([value]) + package[offset + 1:])
    try:
        with PackageReader(path, keyring.trust_store) as reader:
            reader.verify_all()
    except FlasherError:
        pass


@given(st.binary(max_size=600), st.integers(0, 4096), st.binary(max_size=256))
def test_bsdiff_patches(patch, target_size, source):
    """Random bytes, and real headers over random blocks, never reach bsdiff4 unchecked."""
    import bz2

    from flasher.delta.bsdiff import MAGIC, apply_patch, encode_int64
    for candidate in (patch, MAGIC + encode_int64(len(patch)) + encode_int64(0) + encode_int64(target_size)
                      + patch, MAGIC + encode_int64(len(bz2.compress(patch))) + encode_int64(0)
                      + encode_int64(target_size) + bz2.compress(patch)):
        try:
            result = apply_patch(source, candidate, target_size)
        except FlasherError:
            continue
        assert len(result) == target_size
