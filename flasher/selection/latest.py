"""Updating handsets to the newest build: identify each, choose its package, fetch it, update.

`LatestUpdate` is what `tsuf update --latest` and the desktop app's "update to
latest" share. It imports no Qt, and every method may run on a worker thread:
progress goes to a callback as (label, done, total), and `cancel` is the update's
CancelToken. The steps can be used one by one (`plan`, `fetch`, `open`, then the
Updater's sessions) or all at once (`run`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..cache.store import FirmwareCache
from ..catalog.errors import CatalogMismatch, DownloadHashMismatch
from ..catalog.fetch import Fetcher, fetcher_for
from ..catalog.trusted import SeenCatalogs, TrustedCatalog, load_catalog
from ..fastboot import FastbootDevice, Timeouts
from ..errors import FlasherError
from ..history.codes import Result
from ..history.report import Report, new_report_id, utc_now
from ..library.index import Library, LibraryStale
from ..package.errors import BadSignature, PackageError, UnsignedPackage, UntrustedPackage
from ..package.summary import OTA_FULL, OTA_INCREMENTAL, PACKAGE, VENDOR_OTA
from ..package.trust import TrustStore
from ..payload.errors import PayloadError, PayloadSignatureError
from ..payload.ota_images import OtaImages
from ..settings import load_settings
from ..update import preflight
from ..update.events import Event
from ..update.session import CancelToken, Options, Station
from ..update.updater import FALL_BACK_ON, Updater
from .choose import CATALOG, LIBRARY, Candidate, Choice, Identity, NoUpdateFor, choose

log = logging.getLogger("tsuf.selection")
Progress = Callable[[str, int, int], None]
REFUSED_PACKAGE = (PackageError, PayloadError, CatalogMismatch, LibraryStale)
"""A chosen package (or vendor OTA) that opened as something not to install: a refusal, recorded per handset."""


@dataclass(frozen=True)
class HandsetPlan:
    """One handset: what it is and the package chosen for it, or why there is none."""

    address: str
    identity: Identity | None = None
    choice: Choice | None = None
    problem: FlasherError | None = None
    facts: preflight.HandsetFacts | None = None
    """Everything the handset said when it was identified (battery included), read once."""

    @property
    def up_to_date(self) -> bool:
        return isinstance(self.problem, NoUpdateFor) and self.problem.up_to_date

    def describe(self) -> str:
        if self.choice:
            return f"{self.identity.build} -> {self.choice.package.build}: {self.choice.reason}"
        if self.up_to_date:
            return f"already up to date ({self.identity.build})"
        return str(self.problem)


def read_facts(address: str, timeouts: Timeouts = Timeouts()) -> preflight.HandsetFacts:
    """What the handset says, read as preflight reads it."""
    with FastbootDevice.open(address, timeouts=timeouts) as device:
        return preflight.read_facts(device, [])


def identity_of(facts: preflight.HandsetFacts) -> Identity:
    """Product, hardware revision, build, rollback index and lock state: what choosing looks at."""
    return Identity(facts.serialno, facts.product, facts.hw_revision, facts.build, facts.rollback_index,
                    locked=facts.unlocked is not True)  # not saying takes the locked rules


class LatestUpdate:
    """Packages on offer come from the library and from the catalog at `catalog` (an http(s) URL, a
    catalog file or a folder), which must pass flasher.catalog.trusted first. Catalog packages are
    downloaded into `downloads` under their SHA-256, and resume there after a cut."""

    def __init__(self, trust_store: TrustStore, *, catalog: str | None = None, library: Library | None = None,
                 downloads: Path | None = None, seen: SeenCatalogs | None = None, fetcher: Fetcher | None = None,
                 timeouts: Timeouts = Timeouts()):
        self.trust_store = trust_store
        self.catalog_location = catalog
        self.library = library
        self.downloads = Path(downloads) if downloads else load_settings().data_dir / "downloads"
        self.seen = seen
        self.fetcher = fetcher
        self.timeouts = timeouts
        self.catalog: TrustedCatalog | None = None

    def candidates(self) -> list[Candidate]:
        """Everything on offer; the catalog is fetched and trusted once (Catalog* errors otherwise). A vendor
        OTA in the library is on offer only once a trusted OEM certificate verified it."""
        found = [Candidate(**p.summary_fields(), size=p.size, location=p.path, origin=LIBRARY)
                 for p in (self.library.packages() if self.library else []) if p.trusted]
        if self.catalog_location and self.catalog is None:
            self.catalog = load_catalog(self.catalog_location, self.trust_store, self.seen, fetcher=self.fetcher)
        if self.catalog:
            found += [Candidate(**e.summary_fields(), size=e.size, location=self.catalog.entry_url(e), origin=CATALOG,
                                sha256=e.sha256, payload_sha256=e.payload_sha256)
                      for e in self.catalog.catalog.packages]
        return found

    def plan(self, addresses: Sequence[str], *, max_parallel: int = 8) -> list[HandsetPlan]:
        """Identify every handset (in parallel) and choose its package; plans in address order."""
        candidates = self.candidates()

        def one(address: str) -> HandsetPlan:
            try:
                facts = read_facts(address, self.timeouts)
            except FlasherError as error:
                return HandsetPlan(address, problem=error)
            identity = identity_of(facts)
            try:
                return HandsetPlan(address, identity, choose(identity, candidates), facts=facts)
            except NoUpdateFor as error:
                return HandsetPlan(address, identity, problem=error, facts=facts)
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(addresses)))) as pool:
            return list(pool.map(one, addresses))

    def fetch(self, candidate: Candidate, progress: Progress | None = None,
              cancel: CancelToken | None = None) -> Path:
        """The package as a local file: a library file as it is, a catalog package downloaded and hashed."""
        if candidate.origin == LIBRARY:
            return Path(candidate.location)
        fetcher = self.fetcher or fetcher_for(candidate.location)
        label = f"download {candidate.package_id}"
        return fetcher.download(candidate.location, self.downloads / f"{candidate.sha256}.zip",
                                size=candidate.size, sha256=candidate.sha256, cancel=cancel,
                                progress=(lambda done, total: progress(label, done, total)) if progress else None)

    def open(self, candidate: Candidate, station: Station, *, cache: FirmwareCache | None = None,
             progress: Progress | None = None, cancel: CancelToken | None = None) -> Updater:
        """An Updater for the candidate, fetched first; refused unless the verified package is exactly
        what the catalog or library said (its hash, product, build, type, source, rollback index and
        how it installs)."""
        path = self.fetch(candidate, progress, cancel)
        updater = Updater(path, self.trust_store, station, cache=cache)
        try:
            _check_matches(candidate, updater, path)
        except BaseException:
            updater.close()
            raise
        return updater

    def run(self, plans: Sequence[HandsetPlan], station: Station, *, cache: FirmwareCache | None = None,
            options: Options = Options(), emit: Callable[[Event], None] = lambda event: None,
            progress: Progress | None = None, cancel: CancelToken | None = None,
            max_parallel: int = 8) -> list[Report]:
        """Update every planned handset with its chosen package; reports in plan order.

        Every package is fetched and opened before any handset is written: a download
        that fails raises (DownloadError; it resumes next time) and leaves the handsets
        alone. A package that is refused (PackageError, a vendor OTA's PayloadError, or not
        what the catalog or library says) becomes a refusal report for its handsets. A delta that does not apply
        to a handset is followed by the full package, fetched only then.
        """
        cancel = cancel or CancelToken()
        groups: dict[tuple[Candidate, Candidate | None], list[HandsetPlan]] = {}
        for plan in plans:
            if plan.choice:
                groups.setdefault((plan.choice.package, plan.choice.fallback), []).append(plan)
        updaters: dict[Candidate, Updater] = {}
        reports: dict[str, Report] = {}
        try:
            for package in dict.fromkeys(package for package, _ in groups):
                try:
                    updaters[package] = self._prepared(package, station, cache, progress, cancel, options)
                except REFUSED_PACKAGE as error:
                    members = [m for (chosen, _), group in groups.items() if chosen == package for m in group]
                    refused = record_refusal(station, [(m.identity.serialno, m.address) for m in members],
                                             package.package_id, error)
                    reports.update(zip((m.address for m in members), refused))
            ready = [key for key in groups if key[0] in updaters]

            def one_group(key: tuple[Candidate, Candidate | None]) -> list[Report]:
                package, fallback = key
                members = groups[key]
                done = updaters[package].update([m.address for m in members], options=options, emit=emit,
                                                cancel=cancel, max_parallel=max_parallel)
                return self._fall_back(fallback, members, done, station, cache, options, emit, progress, cancel,
                                       max_parallel)
            with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
                for key, group_reports in zip(ready, pool.map(one_group, ready)):
                    reports.update(zip((m.address for m in groups[key]), group_reports))
        finally:
            for updater in updaters.values():
                updater.close()
        return [reports[plan.address] for plan in plans if plan.address in reports]

    def prepare(self, candidate: Candidate, station: Station, *, cache: FirmwareCache | None = None,
                progress: Progress | None = None, cancel: CancelToken | None = None) -> Updater:
        """`open`, then every image extracted and checked (`Updater.prepare`, progress labelled
        "verify ..."), so sessions can start at once."""
        updater = self.open(candidate, station, cache=cache, progress=progress, cancel=cancel)
        label = f"verify {candidate.package_id}"
        try:
            updater.prepare((lambda done, total: progress(label, done, total)) if progress else None)
        except BaseException:
            updater.close()
            raise
        return updater

    def _prepared(self, candidate: Candidate, station: Station, cache, progress, cancel, options) -> Updater:
        if options.dry_run:
            return self.open(candidate, station, cache=cache, progress=progress, cancel=cancel)
        return self.prepare(candidate, station, cache=cache, progress=progress, cancel=cancel)

    def _fall_back(self, fallback: Candidate | None, members: list[HandsetPlan], done: list[Report], station,
                   cache, options, emit, progress, cancel, max_parallel) -> list[Report]:
        """Handsets a delta did not apply to get the full package of the same build, if there is one."""
        again = [m.address for m, report in zip(members, done) if report.result in FALL_BACK_ON]
        if not fallback or not again:
            return done
        try:
            updater = self._prepared(fallback, station, cache, progress, cancel, options)
        except FlasherError as error:
            log.warning("the full package %s could not be used as the fallback: %s", fallback.package_id, error)
            return done  # the delta's report already says why these handsets were not updated
        with updater:
            second = dict(zip(again, updater.update(again, options=options, emit=emit, cancel=cancel,
                                                    max_parallel=max_parallel)))
        return [second.get(m.address, report) for m, report in zip(members, done)]


_UNTRUSTED = (UntrustedPackage, UnsignedPackage, BadSignature, PayloadSignatureError)


def _check_matches(candidate: Candidate, updater: Updater, path: Path) -> None:
    """The opened package (or vendor OTA) is the one offered. An OTA reports its payload's hash, not its
    zip's (which the download was checked against), and is incremental where a package is a delta."""
    ota = isinstance(updater.reader, OtaImages)
    expected_sha256 = candidate.payload_sha256 if candidate.kind == VENDOR_OTA else candidate.sha256
    if candidate.origin == CATALOG and updater.reader.package_sha256 != expected_sha256:
        path.unlink(missing_ok=True)
        what = "its payload's SHA-256 is not the catalog's payload_sha256" if ota else \
            "its SHA-256 is not the catalog's"
        raise DownloadHashMismatch(f"{path} changed since it was downloaded ({what}), or the catalog lists "
                                   "another file; it was deleted unused")
    manifest = updater.manifest
    kind, found_type = (VENDOR_OTA, OTA_INCREMENTAL if manifest.type == "delta" else OTA_FULL) if ota \
        else (PACKAGE, manifest.type)
    said = (candidate.kind, candidate.product, candidate.hw_revisions, candidate.build, candidate.rollback_index,
            candidate.type, candidate.source_build, candidate.install)
    found = (kind, manifest.product, manifest.hw_revisions, manifest.build, manifest.rollback_index, found_type,
             manifest.source_build, manifest.install)
    if said != found:
        error = LibraryStale if candidate.origin == LIBRARY else CatalogMismatch
        raise error(f"{candidate.location} is {found_type} {kind} {manifest.product} {manifest.build} for "
                    f"{manifest.install}, not what the {candidate.origin} says ({candidate.type} {candidate.kind} "
                    f"{candidate.product} {candidate.build} for {candidate.install})")


def record_refusal(station: Station, handsets: Sequence[tuple[str, str]], package: str,
                   error: FlasherError, *, package_sha256: str = "",
                   facts: preflight.HandsetFacts | None = None) -> list[Report]:
    """A refused package is still an attempt on each handset (serial, address): the history says why.
    `facts` (one handset's, when known) fill in its product, build and slot."""
    result = Result.PACKAGE_UNTRUSTED if isinstance(error, _UNTRUSTED) else Result.PACKAGE_CORRUPT
    reports = []
    for serial, address in handsets:
        report = Report(new_report_id(), station.station_id, device_serial=serial, address=address,
                        package_id=package, package_sha256=package_sha256, started_at=utc_now(), ended_at=utc_now())
        if facts:
            report.product, report.from_build, report.from_slot = facts.product, facts.build, facts.current_slot or ""
        report.set_result(result, phase="package", message=f"{error} ({error.hint})")
        station.history.record(report)
        station.on_recorded(report)
        reports.append(report)
    return reports
