"""`tsuf catalog`: build a signed catalog of packages and vendor OTAs, and show what a catalog offers."""

import json
from datetime import timedelta
from pathlib import Path

from ..catalog.build import build_catalog
from ..catalog.errors import CatalogError
from ..catalog.trusted import load_catalog
from ..package.keys import load_private_key
from ..package.summary import VENDOR_OTA
from ..selection.choose import size_text
from ..settings import load_settings
from .keys_command import trust_store


class NoCatalog(CatalogError):
    hint = "Name one (tsuf catalog show URL) or set the station's: tsuf settings --catalog URL"


def run_catalog_command(args) -> int:
    return _COMMANDS[args.catalog_command](args)


def package_line(package, location: str) -> str:
    """One package of a catalog or the library: what it installs, from which build, how, and where it is."""
    kind = f"{package.type} (recovery)" if package.install == "sideload" else package.type
    if package.kind == VENDOR_OTA:
        kind = f"{kind} vendor OTA"
    source = f"from {package.source_build}" if package.source_build else ""
    return f"  {package.product} {package.build:<12} {kind:<22} {source:<16} {size_text(package.size):>8}  {location}"


def _lines(entries, url_of) -> list[str]:
    return [package_line(entry, url_of(entry)) for entry in entries]


def _build(args) -> int:
    signing_keys = [load_private_key(Path(path)) for path in args.key]
    catalog = build_catalog([Path(path) for path in args.packages], signing_keys, Path(args.output),
                            trust_store=trust_store(args), version=args.version,
                            lifetime=timedelta(days=args.expires_in), base_url=args.base_url)
    if args.json:
        print(json.dumps({"output": args.output, "catalog": catalog.to_dict(),
                          "signers": [key.key_id for key in signing_keys]}, indent=2))
        return 0
    print(f"catalog version {catalog.version}, expires {catalog.expires}: {len(catalog.packages)} package(s)")
    print("\n".join(_lines(catalog.packages, lambda entry: entry.url)))
    print(f"wrote {args.output}")
    return 0


def _show(args) -> int:
    location = args.location or load_settings().catalog_url
    if not location:
        raise NoCatalog("no catalog given and none set for this station")
    trusted = load_catalog(location, trust_store(args))
    catalog = trusted.catalog
    if args.json:
        print(json.dumps({"url": trusted.url, "signed_sha256": trusted.signed_sha256,
                          "trusted_signers": list(trusted.admission.trusted_signers),
                          "admitted_by": trusted.admission.describe(), **catalog.to_dict()}, indent=2))
        return 0
    print(f"{trusted.url}: version {catalog.version}, expires {catalog.expires}, admitted by "
          f"{trusted.admission.describe()}; {len(catalog.packages)} package(s)")
    print("\n".join(_lines(catalog.packages, trusted.entry_url)))
    return 0


_COMMANDS = {"build": _build, "show": _show}
