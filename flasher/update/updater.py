"""The public face of updating: verify a package once, then update handsets with it.

The package is verified (signature, manifest, archive safety) when the
Updater is made, before any handset is touched. `prepare` copies every image
into a private folder, hashing it against the manifest on the way, so what is
flashed is bytes TSUF checked and nobody else can change. Handsets are then
updated in parallel, each by its own UpdateSession, and each leaves a report.
"""

import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..cache.store import FirmwareCache
from ..history.codes import Result
from ..history.report import Report
from ..package.archive import PackageReader
from ..package.trust import TrustStore
from .events import Event
from .images import DeltaImages, PreparedImages
from .session import CancelToken, Options, Station, UpdateSession

# A delta that cannot be applied to this handset: the full package can still be.
FALL_BACK_ON = {Result.DELTA_SOURCE_MISMATCH.name, Result.PATCH_REJECTED.name}


class Updater:
    """`fallback` is a full package for handsets a delta cannot be applied to; `cache` the
    firmware cache a delta's source images come from first."""

    def __init__(self, package: Path, trust_store: TrustStore, station: Station, *,
                 fallback: Path | None = None, cache: FirmwareCache | None = None):
        self.reader = PackageReader(Path(package), trust_store)
        self.station = station
        self.fallback = Updater(fallback, trust_store, station) if fallback else None
        self._delta = DeltaImages(self.reader, cache) if self.reader.manifest.type == "delta" else None
        self._workdir: Path | None = None
        self.images: dict[str, Path] = {}
        self._prepare_lock = threading.Lock()

    @property
    def manifest(self):
        return self.reader.manifest

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Extract and verify every image once, for all handsets (safe to call from any thread).
        A delta package's images are rebuilt per source, as handsets need them."""
        if self._delta:
            return
        with self._prepare_lock:
            if not self.images:
                self._extract_all(progress)

    def _extract_all(self, progress: Callable[[int, int], None] | None) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="tsuf-update-"))
        total = sum(entry.size for entry in self.manifest.images)
        self.images = self.reader.extract_all_verified(
            self._workdir, (lambda done: progress(done, total)) if progress else None)

    def update(self, addresses: list[str], *, options: Options = Options(),
               emit: Callable[[Event], None] = lambda event: None, cancel: CancelToken | None = None,
               max_parallel: int = 8) -> list[Report]:
        """Update every handset; one failing never stops the others. Reports in address order."""
        if not self.images and not options.dry_run:
            self.prepare()
        cancel = cancel or CancelToken()

        def one(address: str) -> Report:
            report = self.session(address, options=options, emit=emit, cancel=cancel).run()
            if self.fallback and report.result in FALL_BACK_ON:
                return self.fallback.session(address, options=options, emit=emit, cancel=cancel).run()
            return report
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(addresses)))) as pool:
            return list(pool.map(one, addresses))

    def session(self, address: str, *, options: Options = Options(),
                emit: Callable[[Event], None] = lambda event: None,
                cancel: CancelToken | None = None) -> UpdateSession:
        """One handset's session, for faces that run and cancel handsets one by one (the GUI)."""
        if not self.images and not options.dry_run:
            self.prepare()
        return UpdateSession(address, self.manifest, self.reader.package_sha256,
                             self._delta or PreparedImages(self.images), self.station,
                             options=options, emit=emit, cancel=cancel)

    def close(self) -> None:
        self.reader.close()
        if self._delta:
            self._delta.close()
        if self.fallback:
            self.fallback.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "Updater":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
