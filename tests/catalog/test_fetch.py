"""Downloads from a real HTTP server on loopback and from folders: resumed, bounded, hashed before use."""

import hashlib
import os
import socket

import pytest

from flasher.catalog.errors import DownloadFailed, DownloadHashMismatch, DownloadTooLarge
from flasher.catalog.fetch import CHUNK, FolderFetcher, HttpFetcher, catalog_url, resolve
from flasher.update.session import CancelToken, Cancelled
from tests.support.http_server import FileServer

SIZE = 3 * CHUNK + 12345


@pytest.fixture
def published(tmp_path):
    folder = tmp_path / "published"
    folder.mkdir()
    data = os.urandom(SIZE)
    (folder / "B130.zip").write_bytes(data)
    return folder, data, hashlib.sha256(data).hexdigest()


def download(server, dest, sha256, size=SIZE, **kwargs):
    return HttpFetcher(timeout=5).download(server.url("B130.zip"), dest, size=size, sha256=sha256,
                                           retry_delay=0.01, **kwargs)


def test_a_download_lands_whole_and_reports_progress(published, tmp_path):
    folder, data, sha256 = published
    seen = []
    with FileServer(folder) as server:
        path = download(server, tmp_path / "dl" / "B130.zip", sha256, progress=lambda done, total: seen.append(done))
    assert path.read_bytes() == data
    assert seen[-1] == SIZE and seen == sorted(seen)
    assert not (tmp_path / "dl" / "B130.zip.partial").exists()


def test_a_transfer_cut_midway_resumes_where_it_stopped(published, tmp_path):
    folder, data, sha256 = published
    with FileServer(folder, cut_after=CHUNK + 1000) as server:
        path = download(server, tmp_path / "B130.zip", sha256)
        ranges = server.ranges("B130.zip")
    assert path.read_bytes() == data
    assert ranges[0] is None and len(ranges) == 2
    assert int(ranges[1].removeprefix("bytes=").rstrip("-")) >= CHUNK  # not from the start again


def test_a_partial_file_from_an_earlier_run_is_resumed(published, tmp_path):
    folder, data, sha256 = published
    (tmp_path / "B130.zip.partial").write_bytes(data[:5000])
    with FileServer(folder) as server:
        assert download(server, tmp_path / "B130.zip", sha256).read_bytes() == data
        assert server.ranges("B130.zip") == ["bytes=5000-"]


def test_a_server_without_ranges_sends_everything_again(published, tmp_path):
    folder, data, sha256 = published
    (tmp_path / "B130.zip.partial").write_bytes(b"x" * 5000)  # not even the right bytes
    with FileServer(folder, ignore_range=True) as server:
        assert download(server, tmp_path / "B130.zip", sha256).read_bytes() == data


def test_a_partial_file_longer_than_the_package_starts_over(published, tmp_path):
    folder, data, sha256 = published
    (tmp_path / "B130.zip.partial").write_bytes(os.urandom(SIZE + 10))
    with FileServer(folder) as server:
        assert download(server, tmp_path / "B130.zip", sha256).read_bytes() == data
        assert server.ranges("B130.zip") == [None]


def test_more_bytes_than_the_catalog_declares_are_refused(published, tmp_path):
    folder, data, sha256 = published
    with FileServer(folder) as server, pytest.raises(DownloadTooLarge, match="more than"):
        download(server, tmp_path / "B130.zip", sha256, size=SIZE - 1)
    assert list(tmp_path.glob("B130.zip*")) == []


def test_a_file_whose_hash_differs_is_deleted_unused(published, tmp_path):
    folder, data, _ = published
    with FileServer(folder) as server, pytest.raises(DownloadHashMismatch, match="deleted unused"):
        download(server, tmp_path / "B130.zip", "00" * 32)
    assert list(tmp_path.glob("B130.zip*")) == []


def test_a_finished_download_is_reused_only_while_it_matches(published, tmp_path):
    folder, data, sha256 = published
    dest = tmp_path / "B130.zip"
    with FileServer(folder) as server:
        download(server, dest, sha256)
        download(server, dest, sha256)
        assert len(server.requests) == 1
        dest.write_bytes(b"rotten")
        assert download(server, dest, sha256).read_bytes() == data
        assert len(server.requests) == 2


def test_cancelling_keeps_the_partial_file_for_next_time(published, tmp_path):
    folder, data, sha256 = published
    cancel = CancelToken()
    with FileServer(folder) as server:
        with pytest.raises(Cancelled):
            download(server, tmp_path / "B130.zip", sha256, cancel=cancel,
                     progress=lambda done, total: cancel.cancel())
        kept = (tmp_path / "B130.zip.partial").stat().st_size
        assert 0 < kept < SIZE
        assert download(server, tmp_path / "B130.zip", sha256).read_bytes() == data
        assert server.ranges("B130.zip")[-1] == f"bytes={kept}-"


def test_missing_files_and_dead_servers_are_named(published, tmp_path):
    folder, _, sha256 = published
    with FileServer(folder) as server, pytest.raises(DownloadFailed, match="HTTP 404"):
        HttpFetcher(timeout=5).download(server.url("nothing.zip"), tmp_path / "x.zip", size=1, sha256=sha256,
                                        retry_delay=0.01)
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(DownloadFailed, match="unreachable"):
        HttpFetcher(timeout=5).read(f"http://127.0.0.1:{port}/catalog.json", 1000)


def test_small_files_are_read_with_a_bound(published):
    folder, data, _ = published
    with FileServer(folder) as server:
        with pytest.raises(DownloadTooLarge):
            HttpFetcher(timeout=5).read(server.url("B130.zip"), SIZE - 1)
        assert HttpFetcher(timeout=5).read(server.url("B130.zip"), SIZE) == data


def test_folders_serve_the_same_way(published, tmp_path):
    folder, data, sha256 = published
    url = resolve(catalog_url(str(folder)), "B130.zip")
    (tmp_path / "B130.zip.partial").write_bytes(data[:777])
    assert FolderFetcher().download(url, tmp_path / "B130.zip", size=SIZE, sha256=sha256).read_bytes() == data
    assert FolderFetcher().read(f"file://{folder}/B130.zip", SIZE) == data
    with pytest.raises(DownloadFailed, match="cannot read"):
        FolderFetcher().read(str(folder / "nothing.zip"), 10)


@pytest.mark.parametrize("served", [SIZE // 2, SIZE - 1])
def test_a_shorter_file_is_named_a_wrong_package_at_once_not_retried(published, tmp_path, served):
    folder, data, sha256 = published
    (folder / "B130.zip").write_bytes(data[:served])  # replaced on the server by another file
    with FileServer(folder) as server:
        with pytest.raises(DownloadHashMismatch, match="not the .* the catalog declares: a wrong or tampered") as err:
            download(server, tmp_path / "B130.zip", sha256)
        assert len(server.requests) == 1  # not retried: the same file would come again
    assert "not a network fault" in err.value.hint
    assert list(tmp_path.glob("B130.zip*")) == []
    with pytest.raises(DownloadHashMismatch, match="a wrong or tampered"):
        FolderFetcher().download(resolve(catalog_url(str(folder)), "B130.zip"), tmp_path / "B130.zip",
                                 size=SIZE, sha256=sha256)
