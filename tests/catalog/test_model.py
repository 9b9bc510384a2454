"""The catalog's schema: one byte string per catalog, every field bounded, nothing signed that breaks it."""

import json

import pytest

from flasher.catalog.errors import CatalogFormatError
from flasher.catalog.model import (MAX_CATALOG_BYTES, Catalog, CatalogEntry, decode, encode, format_for,
                                   parse_catalog)
from flasher.package.keys import generate_key
from flasher.package.manifest import canonical_json
from flasher.package.summary import VENDOR_OTA

SHA = "ab" * 32
FULL = CatalogEntry("p-B130", "P855A01", ("r1", "r2"), "B130", 7, "full", size=2_100_000_000, sha256=SHA,
                    url="P855A01-B130.zip")
DELTA = CatalogEntry("p-B120-B130", "P855A01", ("r1",), "B130", 7, "delta", "B120", size=38_000_000, sha256=SHA,
                     url="https://updates.example/deltas/B120-B130.zip")
CATALOG = Catalog(version=3, expires="2030-01-01T00:00:00Z", packages=(FULL, DELTA))
PAYLOAD_SHA = "cd" * 32
FULL_OTA = CatalogEntry("ota-P855A01-B140", "P855A01", (), "B140", None, "full", kind=VENDOR_OTA, size=1_900_000_000,
                        sha256=SHA, payload_sha256=PAYLOAD_SHA, signer="trusted OEM certificate 30ddefc2cfb7cebf",
                        url="ota/P855A01-B140.zip")
INCREMENTAL_OTA = CatalogEntry("ota-P855A01-B140", "P855A01", (), "B140", None, "incremental", "B130",
                               kind=VENDOR_OTA, size=90_000_000, sha256=SHA, payload_sha256=PAYLOAD_SHA,
                               signer="trusted OEM certificate 30ddefc2cfb7cebf", url="ota/B130-B140.zip")
WITH_OTAS = Catalog(version=4, expires="2030-01-01T00:00:00Z", packages=(FULL, FULL_OTA, INCREMENTAL_OTA),
                    format_version=2)


def signed_value(**changes) -> dict:
    value = CATALOG.to_dict()
    value.update(changes)
    return value


def test_a_signed_catalog_decodes_to_what_was_encoded():
    key = generate_key()
    data = encode(CATALOG, [key])
    signed = decode(data)
    assert signed.signed_bytes == canonical_json(CATALOG.to_dict())
    assert list(signed.signatures) == [key.key_id]
    assert parse_catalog(signed.signed_bytes) == CATALOG
    assert "source_build" not in CATALOG.to_dict()["packages"][0]


def test_only_canonical_json_is_a_catalog():
    data = encode(CATALOG, [generate_key()])
    with pytest.raises(CatalogFormatError, match="canonical"):
        decode(json.dumps(json.loads(data), indent=1).encode())
    duplicated = data[:-1] + b',"signed":' + canonical_json(CATALOG.to_dict()) + b"}"
    with pytest.raises(CatalogFormatError):
        decode(duplicated)
    with pytest.raises(CatalogFormatError, match="JSON"):
        decode(b'{"signatures":{},"signed":NaN}')
    with pytest.raises(CatalogFormatError, match="at most"):
        decode(b" " * (MAX_CATALOG_BYTES + 1))


def test_signatures_must_be_hex_under_key_ids():
    signed = CATALOG.to_dict()
    for signatures in ({"not-a-key-id": "00"}, {"0" * 32: "zz"}, {"0" * 32: "00" * 2000}, ["00"]):
        with pytest.raises(CatalogFormatError):
            decode(canonical_json({"signatures": signatures, "signed": signed}))


@pytest.mark.parametrize("change, complaint", [
    ({"version": 0}, "version"),
    ({"version": 1 << 32}, "version"),  # fast-forward: an absurd version would lock out every later one
    ({"expires": "next year"}, "expires"),
    ({"format_version": 3}, "format_version"),
    ({"format_version": 0}, "format_version"),
    ({"mirrors": []}, "unknown fields"),
])
def test_catalog_fields_are_bounded(change, complaint):
    with pytest.raises(CatalogFormatError, match=complaint):
        parse_catalog(canonical_json(signed_value(**change)))


@pytest.mark.parametrize("change, complaint", [
    ({"type": "delta"}, "lacks source_build"),  # a delta must name its source build
    ({"source_build": "B120"}, "unknown fields"),  # a full package has none
    ({"type": "patch"}, "type"),
    ({"url": "/etc/passwd"}, "url"),
    ({"url": "../elsewhere/B130.zip"}, "url"),
    ({"url": "file:///srv/B130.zip"}, "url"),
    ({"url": "ftp://host/B130.zip"}, "url"),
    ({"url": "with space.zip"}, "url"),
    ({"url": ""}, "url"),
    ({"sha256": "AB" * 32}, "sha256"),
    ({"size": 0}, "size"),
    ({"rollback_index": 1 << 32}, "rollback_index"),
    ({"hw_revisions": ["r1", "r1"]}, "hw_revisions"),
    ({"hw_revisions": []}, "hw_revisions"),
    ({"product": "../x"}, "product"),
    ({"install": "fastboot"}, "leave it out for fastboot"),  # one byte string per catalog: absent means fastboot
    ({"install": "ota"}, "install"),
    ({"type": "delta", "source_build": "B120", "install": "sideload"}, "cannot be a delta"),
])
def test_entries_are_checked_field_by_field(change, complaint):
    entry = {**FULL.to_dict(), **change}
    with pytest.raises(CatalogFormatError, match=complaint):
        parse_catalog(canonical_json(signed_value(packages=[entry])))


def test_a_sideload_package_says_so_and_a_fastboot_one_says_nothing():
    ota = CatalogEntry("p-B130-ota", "P855A01", ("r1",), "B130", 7, "full", install="sideload", size=2_300_000_000,
                       sha256=SHA, url="ota/B130.zip")
    signed = canonical_json(Catalog(3, "2030-01-01T00:00:00Z", (FULL, ota)).to_dict())
    assert b'"install":"sideload"' in signed and signed.count(b'"install"') == 1
    assert [entry.install for entry in parse_catalog(signed).packages] == ["fastboot", "sideload"]


def test_a_bad_catalog_is_never_signed():
    with pytest.raises(CatalogFormatError):
        encode(Catalog(version=0, expires="2030-01-01T00:00:00Z", packages=(FULL,)), [generate_key()])


def test_a_catalog_with_vendor_otas_is_format_2_and_round_trips():
    assert (format_for(CATALOG.packages), format_for(WITH_OTAS.packages)) == (1, 2)
    signed = decode(encode(WITH_OTAS, [generate_key()])).signed_bytes
    assert parse_catalog(signed) == WITH_OTAS
    package, full, incremental = WITH_OTAS.to_dict()["packages"]
    assert "kind" not in package  # a package entry is byte for byte what format 1 writes
    assert full == {"kind": "vendor-ota", "package_id": "ota-P855A01-B140", "product": "P855A01", "build": "B140",
                    "type": "full", "size": 1_900_000_000, "sha256": SHA, "payload_sha256": PAYLOAD_SHA,
                    "signer": "trusted OEM certificate 30ddefc2cfb7cebf", "url": "ota/P855A01-B140.zip"}
    assert incremental["source_build"] == "B130"


def test_a_format_2_catalog_of_packages_only_is_read():
    assert parse_catalog(canonical_json(signed_value(format_version=2))) == Catalog(
        3, "2030-01-01T00:00:00Z", (FULL, DELTA), format_version=2)


def test_a_format_1_catalog_cannot_list_a_vendor_ota():
    with pytest.raises(CatalogFormatError, match="format_version 1 does not know"):
        parse_catalog(canonical_json(signed_value(packages=[FULL.to_dict(), FULL_OTA.to_dict()])))
    with pytest.raises(CatalogFormatError):  # so it is never signed either
        encode(Catalog(4, "2030-01-01T00:00:00Z", (FULL_OTA,)), [generate_key()])


@pytest.mark.parametrize("change, complaint", [
    ({"kind": "package"}, "leave it out for a TSUF package"),  # one byte string per catalog: absent is a package
    ({"kind": "ota"}, "kind"),
    ({"kind": ["vendor-ota"]}, "kind"),
    ({"rollback_index": 2}, "states no rollback_index"),
    ({"hw_revisions": ["r1"]}, "states no hw_revisions"),
    ({"install": "sideload"}, "states no install"),
    ({"type": "delta", "source_build": "B130"}, "vendor OTA type 'delta'"),
    ({"type": "incremental"}, "lacks source_build"),
    ({"source_build": "B130"}, "unknown fields"),  # a full OTA has none
    ({"mirrors": []}, "unknown fields"),
    ({"payload_sha256": "CD" * 32}, "payload_sha256"),
    ({"payload_sha256": None}, "payload_sha256"),
    ({"sha256": "ab" * 31}, "sha256"),
    ({"signer": ""}, "signer"),
    ({"signer": "OEM \x1b[31m"}, "signer"),  # shown in lists: no terminal escapes
    ({"signer": "x" * 257}, "signer"),
    ({"signer": 7}, "signer"),
    ({"size": 0}, "size"),
    ({"build": "B140\n"}, "build"),
    ({"url": "../ota.zip"}, "url"),
])
def test_vendor_ota_entries_are_checked_field_by_field(change, complaint):
    entry = {**FULL_OTA.to_dict(), **change}
    with pytest.raises(CatalogFormatError, match=complaint):
        parse_catalog(canonical_json(signed_value(format_version=2, packages=[entry])))


@pytest.mark.parametrize("missing", ["package_id", "product", "build", "size", "sha256", "payload_sha256", "signer",
                                     "url"])
def test_a_vendor_ota_entry_lacking_a_field_is_refused(missing):
    entry = {name: value for name, value in FULL_OTA.to_dict().items() if name != missing}
    with pytest.raises(CatalogFormatError, match=f"lacks {missing}"):
        parse_catalog(canonical_json(signed_value(format_version=2, packages=[entry])))
