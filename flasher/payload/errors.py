"""Every error a payload can raise; each says what was refused and what to do."""

from flasher.errors import FlasherError


class PayloadError(FlasherError):
    """A payload that cannot be used; nothing from it was written."""

    hint = "Get the OTA package again from its publisher; do not flash it."


class NotAPayload(PayloadError):
    """Neither an OTA zip with payload.bin nor a bare payload.bin."""

    hint = "Give an Android A/B OTA package (a zip with payload.bin) or a payload.bin."


class TruncatedPayload(PayloadError):
    """The file ends before what its header or manifest says is in it."""

    hint = "The download was cut short: download the OTA package again."


class MalformedPayload(PayloadError):
    """The header or manifest breaks the payload format or one of its bounds."""


class UnsupportedOperation(PayloadError):
    """An operation this reader does not apply; refused before anything is written."""

    hint = ("TSUF applies REPLACE, REPLACE_BZ, REPLACE_XZ, ZERO, DISCARD, SOURCE_COPY, SOURCE_BSDIFF and "
            "BROTLI_BSDIFF; let the handset's own updater (adb sideload, or the system updater) install this one.")


class DataHashMismatch(PayloadError):
    """An operation's data is not the data the manifest hashed."""


class PartitionHashMismatch(PayloadError):
    """A partition built from the payload is not the image the manifest describes."""


class PropertiesMismatch(PayloadError):
    """payload_properties.txt disagrees with the payload."""


class MissingProperties(PayloadError):
    """payload_properties.txt is absent or unreadable, so sizes and hashes cannot be checked."""

    hint = "An OTA zip carries payload_properties.txt beside payload.bin; give --properties FILE for a bare payload."


class NoSuchPartition(PayloadError):
    """A partition asked for that the payload does not hold."""

    hint = "tsuf payload inspect OTA lists the partitions it holds."


class SourceMismatch(PayloadError):
    """An incremental payload's source image is missing or not the build it applies to."""

    hint = "Give --source-dir with the images of the exact build this incremental OTA applies to (NAME.img)."


class PayloadSignatureError(PayloadError):
    """The payload's signature did not verify with the trusted OEM certificate."""


class UnverifiedPayload(PayloadSignatureError):
    """No trusted OEM certificate could check the payload's signature."""

    hint = ("Trust the maker's OTA certificate: tsuf payload trust CERT.pem, or use the certificate inside the "
            "OTA zip with --otacert (only if you trust where the zip came from).")


class NoRoom(PayloadError):
    """The output folder's file system cannot hold the images asked for."""

    hint = "Free space there, give another --out, or extract fewer partitions."


class DeadlineExceeded(PayloadError):
    """The command ran past its --deadline."""

    hint = "Give a longer --deadline, or none."
