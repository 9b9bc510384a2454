"""Updates a rollout server assigns (hawkBit DDI): ask the server about each handset in reach,
fetch what it assigns, and run it as an ordinary update.

The server chooses the build; TSUF still decides whether it may be installed. Each
deployment's artifact is downloaded (resumable, hash-checked against the server's hash),
taken out of its .swu envelope if it has one, and must pass the package's own signature
check and the session's preflight like any other package: a server cannot push an
untrusted or incompatible package. A refusal is an attempt with a report like any other,
and the report closes the deployment on the server through the outbox (DdiTarget).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..cache.store import FirmwareCache
from ..catalog.errors import DownloadError
from ..catalog.fetch import HttpFetcher
from ..fastboot import Timeouts
from ..errors import FlasherError
from ..history.ddi import Assignments, DdiError, DdiServer, Deployment, controller_id, handset_attributes
from ..history.report import Report
from ..package.archive import sha256_of_file
from ..package.errors import PackageError
from ..package.trust import TrustStore
from ..update import preflight
from ..update.events import Event
from ..update.session import CancelToken, Options, Station
from ..update.updater import Updater
from . import swu
from .latest import read_facts, record_refusal

log = logging.getLogger("tsuf.selection")
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AssignedPlan:
    """One handset: what it is, and the deployment the server assigns it (None: nothing to do)."""

    address: str
    facts: preflight.HandsetFacts | None = None
    deployment: Deployment | None = None
    problem: FlasherError | None = None

    @property
    def controller(self) -> str:
        return controller_id(self.facts.serialno) if self.facts else ""

    def describe(self) -> str:
        if self.problem:
            return str(self.problem)
        if self.deployment:
            return f"{self.facts.build} -> assigned by server: {self.deployment.version or '?'} " \
                   f"(action {self.deployment.action_id}, {self.deployment.artifact.filename})"
        return f"nothing assigned ({self.facts.build})"


class AssignedUpdate:
    def __init__(self, server: DdiServer, assignments: Assignments, trust_store: TrustStore, *, downloads: Path,
                 timeouts: Timeouts = Timeouts()):
        self.server, self.assignments, self.trust_store = server, assignments, trust_store
        self.downloads = Path(downloads)
        self.timeouts = timeouts

    def plan(self, addresses: Sequence[str], *, max_parallel: int = 8) -> list[AssignedPlan]:
        """Identify each handset, push its attributes and ask the server what it assigns."""
        def one(address: str) -> AssignedPlan:
            try:
                facts = read_facts(address, self.timeouts)
            except FlasherError as error:
                return AssignedPlan(address, problem=error)
            controller = controller_id(facts.serialno)
            try:
                action, asked = self.server.poll(controller)  # registers the handset on its first poll
                attributes = handset_attributes(facts)
                self.server.put_attributes(controller, attributes)  # every time: a build or slot may have changed
                self.assignments.set_attributes(controller, attributes)
                if action is None and asked:  # a server that assigns only once it knows what the handset is
                    action, _ = self.server.poll(controller)
                return AssignedPlan(address, facts, self.server.deployment(controller, action) if action else None)
            except DdiError as error:
                return AssignedPlan(address, facts, problem=error)
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(addresses)))) as pool:
            return list(pool.map(one, addresses))

    @classmethod
    def from_settings(cls, settings, trust_store: TrustStore) -> AssignedUpdate | None:
        """The station's rollout server as the settings name it, or None."""
        server = settings.ddi_server()
        if server is None:
            return None
        return cls(server, settings.assignments(), trust_store, downloads=settings.data_dir / "downloads")

    def assigned_build(self, address: str) -> str:
        """The build the server assigns the handset at `address`: "" when none, or when it cannot say
        (logged), for a face that shows it beside the handset."""
        plan = self.plan([address])[0]
        if plan.problem:
            log.warning("%s: the rollout server was not asked: %s", address, plan.problem)
        return (plan.deployment.version or "?") if plan.deployment else ""

    def fetch(self, plan: AssignedPlan, progress: Progress | None = None, cancel: CancelToken | None = None) -> Path:
        """The deployment's artifact as a local file: downloaded (resuming a cut transfer) and
        checked against the server's hash."""
        artifact = plan.deployment.artifact
        fetcher = HttpFetcher(headers=self.server.auth_headers(plan.controller, artifact.url))
        label = f"download {artifact.filename}"
        return fetcher.download(artifact.url, self.downloads / f"{artifact.algorithm}-{artifact.digest}",
                                size=artifact.size, sha256=artifact.digest, algorithm=artifact.algorithm,
                                cancel=cancel, progress=(lambda done, total: progress(label, done, total))
                                if progress else None)

    @staticmethod
    def unwrap(artifact: Path) -> Path:
        """The package out of its .swu envelope, or the artifact itself when it has none."""
        if not swu.is_container(artifact):
            return artifact
        return swu.extract_package(artifact, artifact.with_name(artifact.name + ".zip"))

    def run(self, plans: Sequence[AssignedPlan], station: Station, *, cache: FirmwareCache | None = None,
            options: Options = Options(), emit: Callable[[Event], None] = lambda event: None,
            progress: Progress | None = None, cancel: CancelToken | None = None,
            max_parallel: int = 8) -> list[Report]:
        """Carry out every plan's deployment; reports in plan order. A download that fails leaves
        the deployment open (it resumes on the next poll); a package TSUF refuses is reported and
        closes the deployment as failed; the rest are updated, handsets of one package together."""
        cancel = cancel or CancelToken()
        groups: dict[str, tuple[Updater, list[AssignedPlan]]] = {}
        reports: dict[str, Report] = {}
        try:
            for plan in (plan for plan in plans if plan.deployment):
                try:
                    artifact = self.fetch(plan, progress, cancel)
                except DownloadError as error:
                    log.warning("%s: the assigned package could not be fetched (the next poll resumes): %s",
                                plan.address, error)
                    continue
                try:
                    package = self.unwrap(artifact)
                except PackageError as refused:  # an envelope without exactly one package
                    reports[plan.address] = self._refuse(station, plan, self._take(plan, artifact), refused)
                    continue
                sha256 = self._take(plan, package)
                if sha256 in groups:
                    groups[sha256][1].append(plan)
                    continue
                try:
                    groups[sha256] = (Updater(package, self.trust_store, station, cache=cache), [plan])
                except PackageError as refused:
                    reports[plan.address] = self._refuse(station, plan, sha256, refused)

            def one_group(group: tuple[Updater, list[AssignedPlan]]) -> list[Report]:
                updater, members = group
                return updater.update([m.address for m in members], options=options, emit=emit, cancel=cancel,
                                      max_parallel=max_parallel)
            ready = list(groups.values())
            with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
                for (_, members), done in zip(ready, pool.map(one_group, ready)):
                    reports.update(zip((m.address for m in members), done))
        finally:
            for updater, _ in groups.values():
                updater.close()
        return [reports[plan.address] for plan in plans if plan.address in reports]

    def _take(self, plan: AssignedPlan, package: Path) -> str:
        """The attempt with this file (by its SHA-256) answers the deployment; tell the server it is under way."""
        sha256 = _sha256(package)
        self.assignments.take(plan.controller, plan.deployment.action_id, sha256, plan.deployment.version)
        self._proceeding(plan, f"downloaded {plan.deployment.artifact.filename}; checking its signature")
        return sha256

    @staticmethod
    def _refuse(station: Station, plan: AssignedPlan, sha256: str, error: PackageError) -> Report:
        return record_refusal(station, [(plan.facts.serialno, plan.address)], plan.deployment.artifact.filename,
                              error, package_sha256=sha256, facts=plan.facts)[0]

    def _proceeding(self, plan: AssignedPlan, detail: str) -> None:
        """Tell the server the deployment is under way: a courtesy; the closing feedback goes through the outbox."""
        try:
            self.server.feedback(plan.controller, plan.deployment.action_id, execution="proceeding",
                                 progress=(0, 1), details=[detail])
        except DdiError as error:
            log.info("%s: the rollout server did not take the progress feedback: %s", plan.address, error)


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return sha256_of_file(file)
