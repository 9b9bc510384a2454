"""Reading packages safely: one test per threat of update-safety.md, each refused by name with nothing extracted."""

import hashlib
import io
import json
import stat
import struct
import zipfile

import pytest

from flasher.package.archive import MAX_COMPRESSION_RATIO, PackageReader, copy_verified, inspect_package
from flasher.package.build import build_package
from flasher.package.errors import (ArchiveError, ArchiveLimitExceeded, BadSignature, CompressionBomb, ExtraImage,
                                    ImageHashMismatch, ImageSizeMismatch, ManifestError, MissingImage,
                                    PackageChanged, UnsafeEntryName, UnsignedPackage,
                                    UntrustedPackage)
from flasher.package.manifest import ImageEntry, canonical_json

from .conftest import DESCRIPTION, entries_of, write_images, write_zip


def refused(path, store, error, tmp_path):
    """Open and extract everything; the error must come and the destination stay empty."""
    dest = tmp_path / "extracted"
    dest.mkdir(exist_ok=True)
    with pytest.raises(error) as raised:
        with PackageReader(path, store) as reader:
            reader.extract_all_verified(dest)
    assert list(dest.iterdir()) == []
    return raised.value


def resigned(tmp_path, entries, key, name="crafted.zip", **manifest_changes):
    """The package's entries with the manifest changed and signed again by key: a publisher's own package."""
    manifest = json.loads(entries["manifest.json"])
    manifest.update(manifest_changes)
    data = canonical_json(manifest)
    entries = {n: d for n, d in entries.items() if not n.startswith("signatures/")}
    entries.update({"manifest.json": data, f"signatures/{key.key_id}.sig": key.sign(data)})
    return write_zip(tmp_path / name, entries)


def image_entry(entries, partition, data, **changes):
    manifest = json.loads(entries["manifest.json"])
    for image in manifest["images"]:
        if image["partition"] == partition:
            image.update(size=len(data), sha256=hashlib.sha256(data).hexdigest(), **changes)
    return manifest["images"]


def test_a_good_package_extracts_private_verified_copies(tmp_path, package, store):
    path, images = package
    with PackageReader(path, store) as reader:
        reader.verify_all()
        assert [e.partition for e in reader.manifest.images] == ["boot", "misc", "system"]
        assert reader.manifest.image("misc").slotted is False
        seen = []
        copy = reader.extract_verified("boot", tmp_path, progress=seen.append)
        assert copy.read_bytes() == images["boot"]
        assert seen[-1] == len(images["boot"])
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
        assert reader.package_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        copies = reader.extract_all_verified(tmp_path)
        assert {name: copy.read_bytes() for name, copy in copies.items()} == images
        copies = reader.extract_all_verified(tmp_path)
        assert {name: copy.read_bytes() for name, copy in copies.items()} == images


def test_tampered_manifest_bit_flip(tmp_path, package, store):
    entries = entries_of(package[0])
    flipped = bytearray(entries["manifest.json"])
    flipped[flipped.index(b"B130")] ^= 0x01
    entries["manifest.json"] = bytes(flipped)
    refused(write_zip(tmp_path / "t.zip", entries), store, BadSignature, tmp_path)


def test_tampered_image(tmp_path, package, store):
    entries = entries_of(package[0])
    image = bytearray(entries["images/boot.img"])
    image[5000] ^= 0x01
    entries["images/boot.img"] = bytes(image)
    refused(write_zip(tmp_path / "t.zip", entries), store, ImageHashMismatch, tmp_path)


def test_tampered_signature(tmp_path, package, store, release_key):
    entries = entries_of(package[0])
    name = f"signatures/{release_key.key_id}.sig"
    entries[name] = bytes([entries[name][0] ^ 0x01]) + entries[name][1:]
    refused(write_zip(tmp_path / "t.zip", entries), store, BadSignature, tmp_path)


def test_stripped_signature(tmp_path, package, store):
    entries = {n: d for n, d in entries_of(package[0]).items() if not n.startswith("signatures/")}
    refused(write_zip(tmp_path / "t.zip", entries), store, UnsignedPackage, tmp_path)


def test_signed_by_an_unknown_key(tmp_path, package, store, other_key):
    error = refused(resigned(tmp_path, entries_of(package[0]), other_key), store, UntrustedPackage, tmp_path)
    assert other_key.key_id in str(error)


def test_mix_and_match_manifest_of_a_with_image_of_b(tmp_path, package, store, release_key):
    build_b = tmp_path / "b"
    write_images(build_b / "images", seed=b"B")
    build_package(build_b / "images", DESCRIPTION, [release_key], build_b / "release-b.zip", compression="stored")
    entries = entries_of(package[0])
    entries["images/misc.img"] = entries_of(build_b / "release-b.zip")["images/misc.img"]
    refused(write_zip(tmp_path / "t.zip", entries), store, ImageHashMismatch, tmp_path)


def test_extra_image_not_in_the_manifest(tmp_path, package, store):
    entries = entries_of(package[0])
    entries["images/recovery.img"] = b"\0" * 4096
    refused(write_zip(tmp_path / "t.zip", entries), store, ExtraImage, tmp_path)


def test_any_other_entry_is_refused(tmp_path, package, store):
    entries = entries_of(package[0])
    entries["README.txt"] = b"hello"
    refused(write_zip(tmp_path / "t.zip", entries), store, ExtraImage, tmp_path)


def test_missing_image(tmp_path, package, store):
    entries = entries_of(package[0])
    del entries["images/system.img"]
    refused(write_zip(tmp_path / "t.zip", entries), store, MissingImage, tmp_path)


def test_image_longer_than_declared(tmp_path, package, store, release_key):
    entries = entries_of(package[0])
    declared = entries["images/boot.img"][:-100]
    crafted = resigned(tmp_path, entries, release_key, images=image_entry(entries, "boot", declared))
    refused(crafted, store, ImageSizeMismatch, tmp_path)


def test_copy_never_reads_past_the_declared_size_plus_one():
    class Endless(io.RawIOBase):
        read_total = 0

        def read(self, n=-1):
            self.read_total += n
            return b"\0" * n

    source, sink = Endless(), []
    entry = ImageEntry("boot", True, 3 << 20, "0" * 64)
    with pytest.raises(ImageSizeMismatch, match="longer"):
        copy_verified(source, entry, sink.append)
    assert source.read_total == entry.size + 1
    assert sum(map(len, sink)) == entry.size


@pytest.mark.parametrize("name", ["../x", "images/../../x.img", "/abs.img", "C:\\x", "C:x.img", "images\\boot.img",
                                  "images//boot.img", "./manifest.json"])
def test_path_traversal_names(tmp_path, package, store, name):
    entries = entries_of(package[0])
    entries[name] = b"x"
    refused(write_zip(tmp_path / "t.zip", entries), store, UnsafeEntryName, tmp_path)


def test_duplicate_entries(tmp_path, package, store):
    entries = list(entries_of(package[0]).items())
    entries.append(("images/boot.img", b"other"))
    with pytest.warns(UserWarning, match="Duplicate"):
        path = write_zip(tmp_path / "t.zip", entries)
    refused(path, store, ArchiveError, tmp_path)


def _patch_uncompressed_size(path, name: bytes, size: int) -> None:
    """Make both headers of an entry claim another expanded size, as a zip bomb does."""
    data = bytearray(path.read_bytes())
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = data.index(signature)
        while start >= 0:
            (length,) = struct.unpack_from("<H", data, start + name_length_at)
            if data[start + name_at:start + name_at + length] == name:
                struct.pack_into("<I", data, start + size_at, size)
            start = data.find(signature, start + 1)
    path.write_bytes(bytes(data))


def test_compression_bomb_ratio_too_high(tmp_path, package, store):
    entries = entries_of(package[0])
    path = write_zip(tmp_path / "t.zip", entries, zipfile.ZIP_DEFLATED)
    compressed = zipfile.ZipFile(path).getinfo("images/system.img").compress_size
    _patch_uncompressed_size(path, b"images/system.img", compressed * (MAX_COMPRESSION_RATIO + 1))
    refused(path, store, CompressionBomb, tmp_path)


def test_compression_bomb_declared_small_expands_large(tmp_path, package, store, release_key):
    """64 MiB of zeros whose headers and manifest claim 1 MiB: reading stops at the declared size."""
    entries = entries_of(package[0])
    declared = bytes(1 << 20)
    entries["images/system.img"] = bytes(64 << 20)
    images = [dict(image, compression="deflate") for image in image_entry(entries, "system", declared)]
    crafted = resigned(tmp_path, entries, release_key, images=images)
    path = write_zip(tmp_path / "bomb.zip", entries_of(crafted), zipfile.ZIP_DEFLATED)
    _patch_uncompressed_size(path, b"images/system.img", len(declared))
    error = refused(path, store, ImageHashMismatch, tmp_path)
    assert "system is corrupt" in str(error)


def test_package_changed_after_verification(tmp_path, package, store):
    path, images = package
    dest = tmp_path / "extracted"
    dest.mkdir()
    with PackageReader(path, store) as reader:
        data = bytearray(path.read_bytes())
        data[data.index(images["boot"][:64]) + 10] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(ImageHashMismatch):
            reader.extract_verified("boot", dest)
        first_sha256 = reader.package_sha256
    assert list(dest.iterdir()) == []
    with pytest.raises(PackageChanged):
        PackageReader(path, store, expected_sha256=first_sha256)


def test_absurd_rollback_index_is_refused_by_the_schema(tmp_path, package, store, release_key):
    crafted = resigned(tmp_path, entries_of(package[0]), release_key, rollback_index=(1 << 63) - 1)
    refused(crafted, store, ManifestError, tmp_path)


def test_too_many_entries(tmp_path, package, store):
    entries = entries_of(package[0])
    entries.update({f"images/p{i}.img": b"x" for i in range(100)})
    refused(write_zip(tmp_path / "t.zip", entries), store, ArchiveLimitExceeded, tmp_path)


def test_oversized_manifest(tmp_path, package, store):
    entries = entries_of(package[0])
    entries["manifest.json"] = b" " * ((1 << 20) + 1)
    refused(write_zip(tmp_path / "t.zip", entries, zipfile.ZIP_DEFLATED), store, ArchiveLimitExceeded, tmp_path)


def test_not_a_zip_and_no_manifest(tmp_path, store):
    (tmp_path / "junk.zip").write_bytes(b"not a zip" * 100)
    refused(tmp_path / "junk.zip", store, ArchiveError, tmp_path)
    refused(write_zip(tmp_path / "empty.zip", {}), store, ArchiveError, tmp_path)
    refused(tmp_path / "missing.zip", store, ArchiveError, tmp_path)


def test_compression_must_be_as_declared(tmp_path, package, store):
    refused(write_zip(tmp_path / "t.zip", entries_of(package[0]), zipfile.ZIP_DEFLATED), store, ArchiveError,
            tmp_path)


def test_inspect_shows_an_untrusted_package_without_trusting_it(tmp_path, package, store, other_key):
    crafted = resigned(tmp_path, entries_of(package[0]), other_key)
    info = inspect_package(crafted, store)
    assert info.manifest.product == "P855A01"
    assert info.signatures.trusted == () and info.signatures.unknown == (other_key.key_id,)
