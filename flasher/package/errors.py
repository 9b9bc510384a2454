"""Every error a package can raise, so callers catch them by name from one place."""

from flasher.errors import FlasherError


class PackageError(FlasherError):
    """A package that cannot be used; nothing from it was flashed."""

    hint = "Get the package again from its publisher; do not flash it."


class ManifestError(PackageError):
    """The manifest breaks the schema of docs/package-format.md."""


class KeyFileError(FlasherError):
    """A key file that cannot be read or is of an unsupported kind."""

    hint = "Use an Ed25519 or ECDSA P-256 key in PEM, as made by `tsuf keys generate`."


class TrustStoreError(FlasherError):
    """The trust store folder holds something that is not a usable public key."""

    hint = "Remove or fix the file named; the trust store holds only public keys in PEM."


class UnsignedPackage(PackageError):
    """The package carries no signature at all."""

    hint = "Only signed packages can be flashed; sign it with `tsuf package build --key`."


class UnsignedImages(UnsignedPackage):
    """Factory images: nobody signed them, and the user did not say to flash them anyway."""

    hint = ("Flash factory images only as the manufacturer published them: run again with "
            "--unsigned-factory-images (or answer yes when asked), or use a signed package.")


class UntrustedPackage(PackageError):
    """No signature comes from a key in the trust store."""

    hint = "If you trust the publisher, import their public key: tsuf keys import OEM.pub.pem"


class KeyOutOfScope(UntrustedPackage):
    """Signed only by trusted keys whose scope leaves out this package's product or kind."""

    hint = "The station trusts this key for other products or package kinds only; see: tsuf keys list"


class BadSignature(PackageError):
    """A signature by a trusted key does not match the manifest: it or the manifest was changed."""


class ArchiveError(PackageError):
    """The zip itself is malformed, unsafe or not shaped like a package."""


class NotAPackageFile(ArchiveError):
    """A path that names a folder, a device or a pipe rather than a package file."""

    hint = "Give the path of a package file (.zip)."


class UnsafeEntryName(ArchiveError):
    """An entry name that could escape a folder or means different files on different systems."""


class ArchiveLimitExceeded(ArchiveError):
    """Too many entries, or entries larger than a package may hold."""


class CompressionBomb(ArchiveError):
    """An entry that claims to expand far more than deflate can."""


class MissingImage(ArchiveError):
    """The manifest lists an image the archive does not hold."""


class ExtraImage(ArchiveError):
    """The archive holds an entry the manifest does not list."""


class ImageSizeMismatch(PackageError):
    """An image whose length differs from the manifest's."""


class ImageHashMismatch(PackageError):
    """An image whose SHA-256 differs from the manifest's."""


class NotAWholeImage(PackageError):
    """A delta package's image that is made from the source build, not extracted."""

    hint = "Reconstruct it from the source image (flasher.delta.apply.reconstruct), or use a full package."


class PackageChanged(PackageError):
    """The package file is not the one that was verified."""

    hint = "Something changed the package file; verify it again and do not flash the old result."


class BuildError(FlasherError):
    """Inputs a package cannot be built from."""

    hint = "Check the images folder and the description file (docs/package-format.md)."


class BootMetadataError(FlasherError):
    """Boot metadata that is malformed, too large, or not signed by the OEM key."""

    hint = "The slot's vbmeta does not match this OEM key; flash a package built with --oem-key."
