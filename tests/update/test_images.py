"""DeltaImages: a delta's target is rebuilt once for every handset that needs it."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from flasher.delta.errors import DeltaSourceMismatch
from flasher.package.archive import PackageReader
from flasher.payload.errors import PartitionHashMismatch
from flasher.update.images import DeltaImages, StreamedImages
from tests.support.releases import releases as releases  # the session-wide publisher folder

HANDSETS = 8


def _source_images(folder: Path, package: Path, trust_store) -> dict[str, Path]:
    folder.mkdir()
    with PackageReader(package, trust_store) as reader:
        return reader.extract_all_verified(folder)


def test_eight_handsets_on_one_delta_read_back_and_rebuild_each_target_once(releases, tmp_path):
    sources = _source_images(tmp_path / "b120", releases.full["B120"], releases.keys.trust_store)
    reads: list[str] = []
    lock = threading.Lock()
    with PackageReader(releases.delta, releases.keys.trust_store) as reader:
        images = DeltaImages(reader, cache=None)
        try:
            def read_source(partition: str):
                def read(size: int) -> Path:
                    with lock:
                        reads.append(partition)
                    return sources[partition]
                return read

            def one_handset(_index: int) -> dict[str, bytes]:
                return {entry.partition: images.path_for(entry, read_source(entry.partition)).read_bytes()
                        for entry in reader.manifest.images}
            with ThreadPoolExecutor(HANDSETS) as pool:
                results = list(pool.map(one_handset, range(HANDSETS)))
        finally:
            images.close()
    needing_source = sorted(entry.partition for entry in reader.manifest.images if entry.delta.needs_source)
    assert sorted(reads) == needing_source  # one read-back per partition, not one per handset
    targets = _source_images(tmp_path / "b130", releases.full["B130"], releases.keys.trust_store)
    for result in results:
        assert result == {partition: path.read_bytes() for partition, path in targets.items()}


def test_a_handset_with_the_wrong_source_does_not_stop_the_next_one(releases, tmp_path):
    right = _source_images(tmp_path / "b120", releases.full["B120"], releases.keys.trust_store)
    wrong = _source_images(tmp_path / "b110", releases.full["B110"], releases.keys.trust_store)
    with PackageReader(releases.delta, releases.keys.trust_store) as reader:
        images = DeltaImages(reader, cache=None)
        try:
            entry = next(entry for entry in reader.manifest.images if entry.delta.needs_source)
            with pytest.raises(DeltaSourceMismatch):
                images.path_for(entry, lambda size: wrong[entry.partition])
            rebuilt = images.path_for(entry, lambda size: right[entry.partition])
            assert rebuilt.read_bytes() == _source_images(tmp_path / "b130", releases.full["B130"],
                                                          releases.keys.trust_store)[entry.partition].read_bytes()
        finally:
            images.close()


def test_streamed_images_hand_out_the_first_image_while_later_ones_are_still_built(tmp_path):
    """The second image is built only once the first was handed out: a session writes the
    first while the rest is built, instead of waiting for all of them."""
    first_taken = threading.Event()

    def build(name):
        if name == "system":
            assert first_taken.wait(10), "the boot image was not handed out before system was built"
        path = tmp_path / f"{name}.img"
        path.write_bytes(name.encode())
        return path
    images = StreamedImages(build, ["boot", "system"])
    assert images.path_for(SimpleNamespace(partition="boot"), None).read_bytes() == b"boot"
    first_taken.set()
    assert images.path_for(SimpleNamespace(partition="system"), None).read_bytes() == b"system"
    assert set(images.wait_all()) == {"boot", "system"}


def test_a_streamed_image_that_fails_to_build_fails_the_sessions_that_wait_for_it(tmp_path):
    def build(name):
        if name == "system":
            raise PartitionHashMismatch("the system image built from the payload is not the one its manifest hashed")
        path = tmp_path / f"{name}.img"
        path.write_bytes(b"x")
        return path
    images = StreamedImages(build, ["boot", "system", "vendor"])
    assert images.path_for(SimpleNamespace(partition="boot"), None).exists()
    for later in ("system", "vendor"):
        with pytest.raises(PartitionHashMismatch):
            images.path_for(SimpleNamespace(partition=later), None)
