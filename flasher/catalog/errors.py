"""Every error the catalog and its downloads raise, so callers catch them by name from one place."""

from ..errors import FlasherError


class CatalogError(FlasherError):
    """A catalog that cannot be used; nothing was selected from it."""

    hint = "Check the catalog URL (tsuf settings --catalog) and ask its publisher for a fresh catalog."


class CatalogFormatError(CatalogError):
    """The catalog breaks the schema of docs/catalog.md."""


class CatalogSignatureError(CatalogError):
    """A trusted key's signature does not match the catalog: it was changed after signing."""

    hint = "Do not use this catalog: something between the publisher and this station changed it."


class CatalogUntrusted(CatalogError):
    """The catalog is unsigned, or signed only by keys the trust store does not hold."""

    hint = "If you trust the publisher, import their public key: tsuf keys import PUBLISHER.pub.pem"


class CatalogKeyOutOfScope(CatalogUntrusted):
    """Signed only by trusted keys that may sign packages but not catalogs."""

    hint = "The station trusts this key for packages only; see: tsuf keys list"


class CatalogExpired(CatalogError):
    """The catalog is past its expiry: a server may be replaying an old one to hide updates."""

    hint = "Ask the publisher to publish a fresh catalog (tsuf catalog build), then try again."


class CatalogRollback(CatalogError):
    """The catalog is older than one this station already saw: a server may be replaying it."""

    hint = ("Do not use this catalog; the server is serving an older one than it did before. "
            "Ask its publisher to check the server.")


class CatalogMismatch(CatalogError):
    """A package is not what its catalog entry says it is."""

    hint = "The catalog and the package disagree; ask the publisher to rebuild the catalog."


class CatalogBuildError(CatalogError):
    """Inputs a catalog cannot be built from."""

    hint = "Give signed packages the trust store accepts, and an output folder they can be reached from."


class DownloadError(FlasherError):
    """A package or catalog that could not be fetched as the catalog describes it."""

    hint = "Check the network and the catalog server, then try again; a partial download resumes."


class DownloadFailed(DownloadError):
    """The server could not be reached or answered with an error."""


class DownloadTooLarge(DownloadError):
    """The server sent more than the catalog allows: it is refused rather than filling the disk."""

    hint = "The server sends something other than the catalog describes; ask its publisher to check it."


class DownloadHashMismatch(DownloadError):
    """The downloaded file is not the package the catalog lists (its SHA-256 or its length differs):
    a wrong or tampered package, deleted unused. Retrying fetches the same file, so nothing is retried."""

    hint = ("This is not a network fault: the server holds another file than the catalog describes, "
            "replaced by mistake or tampered with. Do not use it; ask the catalog's publisher to check the server.")
