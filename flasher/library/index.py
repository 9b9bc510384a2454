"""A station's firmware library: the packages in its folders and in the firmware cache, indexed.

The index (`library.json` in TSUF's data folder) lists the folders and, for every
signed package found in them or in the cache, what its manifest says: product,
hardware revisions, build, rollback index, full or delta and the delta's source
build, how it installs (fastboot, or sideload through recovery) and who signed it.
A vendor OTA zip (payload.bin) is indexed beside them (library/vendor_ota.py), with
its signer, or "not trusted" / "not available" when no trusted OEM certificate
verified it. The index is a hint for choosing, not a source of trust: a package
chosen from it is opened and verified like any other, and must still say what the
index said.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..atomic import PRIVATE_FILE, private_folder, write_atomically
from ..cache.store import FirmwareCache, default_cache
from ..errors import FlasherError
from ..package.archive import inspect_package
from ..package.errors import PackageError
from ..package.summary import VENDOR_OTA, PackageSummary
from ..package.trust import TrustStore
from ..package.untrusted_json import load_untrusted_json
from ..payload.container import is_ota_zip
from ..payload.errors import PayloadError
from ..settings import load_settings
from .vendor_ota import NOT_AVAILABLE, NOT_TRUSTED, index_vendor_ota, signer_now

INDEX_NAME = "library.json"
MAX_INDEX_BYTES = 64 << 20
ZIP_MAGIC = b"PK\x03\x04"


class LibraryError(FlasherError):
    hint = "Check the folder and the library index (tsuf library list shows where it is)."


class LibraryStale(LibraryError):
    """A package changed since the library was scanned."""

    hint = "Scan the library again: tsuf library scan"


@dataclass(frozen=True, kw_only=True)
class LibraryPackage(PackageSummary):
    path: str
    size: int
    mtime_ns: int
    signer: str  # the trusted keys that admitted a package; a vendor OTA's OEM certificate, or why none
    payload_sha256: str = ""  # a vendor OTA's payload hashes, kept so that a rescan need not read it whole
    signed_sha256: str = ""

    @property
    def trusted(self) -> bool:
        """Signed by keys the trust store accepts (always so for a package: others are not indexed)."""
        return self.signer not in (NOT_TRUSTED, NOT_AVAILABLE)

    def unchanged(self) -> bool:
        """Still the file that was scanned (same size and modification time)."""
        try:
            stat = Path(self.path).stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns)


@dataclass(frozen=True)
class ScanResult:
    packages: list[LibraryPackage]
    skipped: list[tuple[str, str]]  # (path, why it is not in the library)


class Library:
    def __init__(self, index_path: Path, cache: FirmwareCache | None = None):
        self.index_path = Path(index_path)
        self.cache = cache

    @classmethod
    def default(cls) -> Library:
        return cls(load_settings().data_dir / INDEX_NAME, default_cache())

    def folders(self) -> list[Path]:
        return [Path(folder) for folder in self._load()["folders"]]

    def packages(self) -> list[LibraryPackage]:
        """The indexed packages whose files are still as scanned."""
        return [package for package in self._indexed() if package.unchanged()]

    def add(self, folder: Path) -> Path:
        folder = Path(folder).absolute()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder", "Give a folder that holds packages (.zip).")
        index = self._load()
        if str(folder) not in index["folders"]:
            index["folders"].append(str(folder))
            self._save(index)
        return folder

    def remove(self, folder: Path) -> None:
        index = self._load()
        name = str(Path(folder).absolute())
        if name not in index["folders"]:
            raise LibraryError(f"{name} is not a library folder", "List them: tsuf library list")
        index["folders"].remove(name)
        index["packages"] = [p for p in index["packages"] if not Path(p["path"]).is_relative_to(name)]
        self._save(index)

    def scan(self, trust_store: TrustStore) -> ScanResult:
        """Index every package and vendor OTA in the folders (recursively) and in the cache. Files
        unchanged since the last scan are not read again (an OTA's signatures are checked again, against
        its kept hashes); packages the trust store does not accept are skipped, OTAs kept with their signer
        "not trusted" or "not available"."""
        known = {package.path: package for package in self._indexed() if package.unchanged()}
        found, skipped = [], []
        for path in self._files():
            key = str(path)
            try:
                found.append(_signed_now(known[key], trust_store) if key in known else _index(path, trust_store))
            except (PackageError, PayloadError, OSError, ValueError) as error:  # ValueError: kept hashes not hex
                skipped.append((key, str(error)))
        index = self._load()
        index["packages"] = [asdict(package) for package in found]
        self._save(index)
        return ScanResult(found, skipped)

    def _files(self) -> list[Path]:
        files = [path.absolute() for folder in self.folders() if folder.is_dir()
                 for path in sorted(folder.rglob("*.zip")) if path.is_file()]
        if self.cache:
            files += [entry.path.absolute() for entry in self.cache.entries() if _is_zip(entry.path)]
        return list(dict.fromkeys(files))

    def _indexed(self) -> list[LibraryPackage]:
        try:
            # An entry indexed before packages said how they install and who signed them is read again by
            # the next scan.
            return [LibraryPackage(**{**item, "hw_revisions": tuple(item["hw_revisions"])})
                    for item in self._load()["packages"] if "install" in item and "signer" in item]
        except (TypeError, KeyError) as error:
            raise self._unreadable(error) from None

    def _load(self) -> dict:
        try:
            with open(self.index_path, "rb") as file:
                data = file.read(MAX_INDEX_BYTES + 1)
        except FileNotFoundError:
            return {"folders": [], "packages": []}
        except OSError as error:
            raise self._unreadable(error) from None
        try:
            index = load_untrusted_json(data, what="the index", max_bytes=MAX_INDEX_BYTES, error=LibraryError)
        except LibraryError as error:
            raise self._unreadable(error) from None
        if not (isinstance(index, dict) and isinstance(index.get("folders"), list)
                and isinstance(index.get("packages"), list)):
            raise self._unreadable("not a library index")
        return index

    def _save(self, index: dict) -> None:
        private_folder(self.index_path.parent)
        write_atomically(self.index_path, json.dumps(index, indent=1).encode(), mode=PRIVATE_FILE)

    def _unreadable(self, why) -> LibraryError:
        return LibraryError(f"{self.index_path}: unreadable library index ({why})",
                            f"Delete {self.index_path}, then add the folders again (tsuf library add DIR).")


def _index(path: Path, trust_store: TrustStore) -> LibraryPackage:
    stat = path.stat()
    where = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if is_ota_zip(path):
        ota = index_vendor_ota(path, trust_store)
        return LibraryPackage(**ota.summary.summary_fields(), **where, signer=ota.signer,
                              payload_sha256=ota.payload_sha256, signed_sha256=ota.signed_sha256)
    info = inspect_package(path, trust_store)
    if info.refusal:
        raise info.refusal
    signer = ", ".join(f"key {key_id[:16]}" for key_id in info.admission.trusted_signers)
    return LibraryPackage(**PackageSummary.of(info.manifest).summary_fields(), **where, signer=signer)


def _signed_now(package: LibraryPackage, trust_store: TrustStore) -> LibraryPackage:
    """An unchanged entry as it stands: a vendor OTA's signer by today's trust store."""
    if package.kind != VENDOR_OTA:
        return package
    return replace(package, signer=signer_now(Path(package.path), trust_store, package.payload_sha256,
                                              package.signed_sha256))


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    except OSError:
        return False
