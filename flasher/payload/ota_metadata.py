"""What an OTA zip's META-INF/com/android/metadata says it is for: the product, the build it
installs and, for an incremental OTA, the build it applies to.

`pre-device` names the product (the first, when several are listed with `|`); the build is
`post-build-incremental`, else the incremental part of the `post-build` fingerprint; an
incremental OTA's source is `pre-build-incremental`, else the incremental part of
`pre-build`. The payload's signatures do not cover this file (the zip's own signature,
which TSUF does not check, does), so its words only label the update: the product is
still compared with the handset's and the build confirmed after the reboot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..package.stated_build import incremental_of
from .container import PayloadFile
from .errors import PayloadError

METADATA_NAME = "META-INF/com/android/metadata"
MAX_METADATA = 64 * 1024


class OtaMetadataMissing(PayloadError):
    hint = "The OTA zip lacks the metadata that says which phone and build it is for; download it again."


@dataclass(frozen=True)
class OtaMetadata:
    product: str
    build: str  # "" when the metadata does not say
    source_build: str  # the build an incremental OTA applies to; "" when not said


def metadata_fields(payload_file: PayloadFile) -> dict[str, str]:
    """The metadata's `key=value` lines; empty when the zip has none (or is a bare payload.bin)."""
    data = payload_file.member(METADATA_NAME) or b""
    fields = {}
    for line in data[:MAX_METADATA].decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def read_metadata(payload_file: PayloadFile) -> OtaMetadata:
    """Product and builds as the metadata states them; OtaMetadataMissing without a product."""
    fields = metadata_fields(payload_file)
    product = fields.get("pre-device", "").split("|")[0]
    if not product:
        raise OtaMetadataMissing(f"{payload_file.path.name} does not say which product it is for (pre-device)")
    return OtaMetadata(product=product,
                       build=fields.get("post-build-incremental") or incremental_of(fields.get("post-build", "")),
                       source_build=fields.get("pre-build-incremental") or incremental_of(fields.get("pre-build", "")))
