"""Fetching catalogs and packages: bounded, resumable, hashed before anything is handed out.

A `Fetcher` only moves bytes from a URL (like python-tuf's fetcher interface);
`HttpFetcher` speaks HTTP(S) with Range requests, `FolderFetcher` reads a local or
mounted folder. What is trusted is decided elsewhere (flasher/catalog/trusted.py)
and by the hash each download is checked against: `download` writes into
`NAME.partial`, resumes from its length after a cut, refuses more bytes than the
catalog declares, and renames the file into place only once its SHA-256 matches.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from .. import __version__
from ..package.archive import sha256_of_file
from .errors import DownloadFailed, DownloadHashMismatch, DownloadTooLarge

CHUNK = 1 << 20
CATALOG_NAME = "catalog.json"
# Attempts in a row that bring no new byte before a download gives up; any progress resets the count.
MAX_STALLED_ATTEMPTS = 4
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)\Z")

Progress = Callable[[int, int], None]


class Fetcher(ABC):
    """Moves the bytes of a URL; knows nothing of catalogs or trust."""

    @abstractmethod
    def stream(self, url: str, offset: int = 0) -> tuple[int, Iterator[bytes]]:
        """The bytes of `url` from `offset`, or from 0 when the source cannot start there; returns the
        start it serves and the chunks. Raises DownloadFailed, also while iterating: a cut transfer
        must raise, since a stream that ends is taken as the whole file the source holds."""

    def read(self, url: str, max_size: int) -> bytes:
        """The whole of a small file, refused (DownloadTooLarge) past `max_size` bytes."""
        _, chunks = self.stream(url)
        data = bytearray()
        with closing(chunks):
            for chunk in chunks:
                data += chunk
                if len(data) > max_size:
                    raise DownloadTooLarge(f"{url} is larger than the {max_size} bytes allowed")
        return bytes(data)

    def download(self, url: str, dest: Path, *, size: int, sha256: str, progress: Progress | None = None,
                 cancel=None, retry_delay: float = 0.2, algorithm: str = "sha256") -> Path:
        """`dest` holding exactly the `size` bytes whose SHA-256 is `sha256`, fetched or resumed.
        A server that offers only another hash (a DDI server's SHA-1) names it in `algorithm`.

        `cancel` is anything with a `check()` that raises to stop (an update's CancelToken);
        the partial file stays for the next attempt. A file that is too long or hashes wrong
        is deleted and refused.
        """
        dest = Path(dest)
        if dest.exists():
            if _digest_of(dest, algorithm) == sha256:
                return dest
            dest.unlink()
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        stalled = 0
        while (have := partial.stat().st_size if partial.exists() else 0) != size:
            if cancel:
                cancel.check()
            try:
                self._fetch_into(url, partial, have, size, progress, cancel)
            except DownloadFailed:
                stalled = 0 if partial.exists() and partial.stat().st_size > have else stalled + 1
                if stalled >= MAX_STALLED_ATTEMPTS:
                    raise
                time.sleep(retry_delay * 2 ** stalled)
        if _digest_of(partial, algorithm) != sha256:
            partial.unlink()
            raise DownloadHashMismatch(f"{url}: the downloaded file's {algorithm.upper()} differs from the catalog's (a wrong or tampered package); "
                                       "it was deleted unused")
        os.replace(partial, dest)
        return dest

    def _fetch_into(self, url: str, partial: Path, have: int, size: int, progress: Progress | None,
                    cancel) -> None:
        start, chunks = self.stream(url, have if have < size else 0)
        with closing(chunks), open(partial, "r+b" if partial.exists() else "wb") as out:
            out.truncate(start)
            out.seek(start)
            done = start
            for chunk in chunks:
                if done + len(chunk) > size:
                    out.close()
                    partial.unlink()
                    raise DownloadTooLarge(f"{url} sends more than the {size} bytes the catalog declares")
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, size)
                if cancel:
                    cancel.check()
            out.flush()
            os.fsync(out.fileno())
        if done < size:
            # A cut connection raises from the stream (and is retried); a stream that ends
            # cleanly is the whole file the source holds: not the package the catalog lists.
            partial.unlink()
            raise DownloadHashMismatch(f"{url} is {done} bytes, not the {size} the catalog declares: a wrong or "
                                       "tampered package; it was deleted unused")


class HttpFetcher(Fetcher):
    """HTTP and HTTPS. Certificates are always verified (against `cafile` for a private CA);
    `timeout` bounds every connect and every read."""

    def __init__(self, *, timeout: float = 30.0, cafile: str = "", headers: dict[str, str] | None = None):
        self.timeout = timeout
        self._headers = headers or {}
        try:
            self._context = ssl.create_default_context(cafile=cafile or None)
        except (OSError, ssl.SSLError) as error:
            raise DownloadFailed(f"cannot use {cafile} as a CA certificate ({error})",
                                 "Give a readable PEM file with the CA certificate.") from None

    def stream(self, url: str, offset: int = 0) -> tuple[int, Iterator[bytes]]:
        # Identity encoding: byte offsets must be offsets into the file itself.
        headers = {"User-Agent": f"tsuf/{__version__}", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=headers)
        for name, value in self._headers.items():  # credentials never follow a redirect to another host
            request.add_unredirected_header(name, value)
        context = self._context if url.startswith("https://") else None
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout, context=context)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:  # the partial file is longer than the file now served
                return self.stream(url, 0)
            raise DownloadFailed(f"{url}: the server answered HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise DownloadFailed(f"{url}: the server's certificate is not trusted ({reason.verify_message})",
                                     "Fix the server's certificate, or use a catalog URL this station "
                                     "trusts.") from None
            raise DownloadFailed(f"{url}: unreachable ({reason})") from None
        start = 0
        if offset and response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                response.close()
                raise DownloadFailed(f"{url}: the server answered a range request with another range")
            start = offset
        return start, self._chunks(response, url)

    def _chunks(self, response, url: str) -> Iterator[bytes]:
        with response:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as error:
                    raise DownloadFailed(f"{url}: the transfer broke off ({error})") from None
                if not chunk:
                    if response.length:  # fewer bytes than Content-Length: the connection was cut
                        raise DownloadFailed(f"{url}: the transfer broke off {response.length} bytes early")
                    return
                yield chunk


class FolderFetcher(Fetcher):
    """Files in a local or mounted folder (a USB stick, a network share)."""

    def stream(self, url: str, offset: int = 0) -> tuple[int, Iterator[bytes]]:
        path = local_path(url)
        try:
            file = open(path, "rb")
        except OSError as error:
            raise DownloadFailed(f"{path}: cannot read ({error.strerror})") from None
        start = offset if offset <= os.fstat(file.fileno()).st_size else 0
        file.seek(start)
        return start, self._chunks(file, path)

    @staticmethod
    def _chunks(file, path: Path) -> Iterator[bytes]:
        with file:
            while True:
                try:
                    chunk = file.read(CHUNK)
                except OSError as error:
                    raise DownloadFailed(f"{path}: cannot read ({error.strerror})") from None
                if not chunk:
                    return
                yield chunk


def is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def fetcher_for(url: str) -> Fetcher:
    return HttpFetcher() if is_http(url) else FolderFetcher()


def catalog_url(location: str) -> str:
    """Where the catalog file is: an http(s) URL as given; a file path, file: URL or folder
    (meaning its catalog.json) as an absolute path."""
    if is_http(location):
        return location
    path = local_path(location)
    return str((path / CATALOG_NAME if path.is_dir() else path).absolute())


def resolve(catalog: str, url: str) -> str:
    """A catalog entry's URL, made absolute against the catalog's own location."""
    if is_http(url):
        return url
    if is_http(catalog):
        return urljoin(catalog, url)
    return str(Path(catalog).parent / unquote(url))


def local_path(location: str) -> Path:
    parts = urlsplit(location)
    return Path(unquote(parts.path)) if parts.scheme == "file" else Path(location)


def _digest_of(path: Path, algorithm: str) -> str:
    if algorithm == "sha256":
        with open(path, "rb") as file:
            return sha256_of_file(file)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
