"""The public face of updating: verify a package once, then update handsets with it.

The package is verified (signature, manifest, archive safety) when the
Updater is made, before any handset is touched. `prepare` copies every image
into a private folder, hashing it against the manifest on the way, so what is
flashed is bytes TSUF checked and nobody else can change; a sideload package
is copied whole, and the copy checked the same way. Handsets are then
updated in parallel, each by its own UpdateSession, and each leaves a report.
"""

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..cache.store import FirmwareCache
from ..delta.apply import reconstruct
from ..history.codes import Result
from ..history.report import Report
from ..package.archive import PackageReader
from ..package.factory import FactoryImages, is_factory_zip
from ..payload.ota_images import OtaImages, is_ota
from ..package.trust import TrustStore
from .events import Event
from .images import DeltaImages, PreparedImages, SideloadPackage, StreamedImages
from .session import CancelToken, Options, Station, UpdateSession

# A delta that cannot be applied to this handset: the full package can still be.
FALL_BACK_ON = {Result.DELTA_SOURCE_MISMATCH.name, Result.PATCH_REJECTED.name}


class Updater:
    """`fallback` is a full package for handsets a delta cannot be applied to; `cache` the
    firmware cache a delta's source images come from first. Factory images (package/factory.py)
    open only with `unsigned_factory_images`, the user's word for this run; a vendor OTA
    (payload/ota_images.py) only signed by a trusted OEM certificate, or by the zip's own
    otacert with `use_otacert`."""

    def __init__(self, package: Path, trust_store: TrustStore, station: Station, *,
                 fallback: Path | None = None, cache: FirmwareCache | None = None,
                 unsigned_factory_images: bool = False, use_otacert: bool = False):
        package = Path(package)
        if is_ota(package):
            self.reader = OtaImages(package, trust_store, use_otacert=use_otacert)
        elif is_factory_zip(package):
            self.reader = FactoryImages(package, user_said_yes=unsigned_factory_images)
        else:
            self.reader = PackageReader(package, trust_store)
        self.left_out: dict[str, str] = self.reader.skipped if isinstance(self.reader, FactoryImages) else {}
        """Factory images not written, and why (other slot, user data)."""
        self.trust_store = trust_store
        self.station = station
        self.fallback = Updater(fallback, trust_store, station) if fallback else None
        rebuild = self.reader.rebuild if isinstance(self.reader, OtaImages) else reconstruct
        self._delta = DeltaImages(self.reader, cache, rebuild) if self.reader.manifest.type == "delta" else None
        self._workdir: Path | None = None
        self.images: dict[str, Path] = {}
        self._prepared: PreparedImages | StreamedImages | SideloadPackage | None = None
        self._prepare_lock = threading.Lock()

    @property
    def manifest(self):
        return self.reader.manifest

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Extract and verify every image once, for all handsets (safe to call from any thread).
        A delta package's images are rebuilt per source, as handsets need them; a full vendor
        OTA's are built on a thread while handsets already take the first ones."""
        if self._delta:
            return
        with self._prepare_lock:
            if self._prepared is None:
                self._workdir = self._workdir or Path(tempfile.mkdtemp(prefix="tsuf-update-"))
                if self.manifest.install == "sideload":
                    self._prepared = SideloadPackage(self._copy_package(progress))
                elif isinstance(self.reader, OtaImages):
                    order, build = self.reader.image_builder(self._workdir)
                    self._prepared = StreamedImages(build, order)
                else:
                    total = sum(entry.size for entry in self.manifest.images)
                    self.images = self.reader.extract_all_verified(
                        self._workdir, (lambda done: progress(done, total)) if progress else None)
                    self._prepared = PreparedImages(self.images)

    def _copy_package(self, progress: Callable[[int, int], None] | None) -> Path:
        """A private copy of the package file (progress counts its bytes), refused unless it is
        the file verified, then its images hashed against the manifest."""
        copy = self._workdir / "package.zip"
        total, done = self.reader.path.stat().st_size, 0
        private = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        with open(self.reader.path, "rb") as source, os.fdopen(private, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        with PackageReader(copy, self.trust_store, expected_sha256=self.reader.package_sha256) as checked:
            checked.verify_all()
        return copy

    def update(self, addresses: list[str], *, options: Options = Options(),
               emit: Callable[[Event], None] = lambda event: None, cancel: CancelToken | None = None,
               max_parallel: int = 8) -> list[Report]:
        """Update every handset; one failing never stops the others. Reports in address order."""
        if not options.dry_run:
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
        if not options.dry_run:
            self.prepare()
        return UpdateSession(address, self.manifest, self.reader.package_sha256,
                             self._delta or self._prepared, self.station,
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
