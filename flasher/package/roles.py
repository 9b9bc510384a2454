"""What a trusted key may sign: its scope, and the role a signed document asks of its signers.

A package asks for the right to sign its kind (full, delta, or sideload: a full package
recovery installs) for its product; a catalog asks for the right to sign catalogs. A key
is trusted for a document only when its scope allows that role.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TrustStoreError
from .manifest import INSTALL_SIDELOAD, Manifest
from .schema import IDENTIFIER

PACKAGE_KINDS = ("full", "delta", "sideload")
CATALOG = "catalog"
PACKAGE = "package"
ROLES = (PACKAGE, CATALOG)
ANY_PRODUCT = "any"
MAX_PRODUCTS = 256
MAX_THRESHOLD = 16


@dataclass(frozen=True)
class Role:
    """What a signed document needs its signers to be allowed: catalogs, or one kind of package for one product."""

    name: str
    product: str | None = None
    kind: str | None = None

    def describe(self) -> str:
        return "catalogs" if self.name == CATALOG else f"{self.kind} packages for {self.product}"


CATALOG_ROLE = Role(CATALOG)


def package_role(manifest: Manifest) -> Role:
    kind = "sideload" if manifest.install == INSTALL_SIDELOAD else manifest.type
    return Role(PACKAGE, manifest.product, kind)


@dataclass(frozen=True)
class Scope:
    """The documents one key may sign. `products` None means every product."""

    products: frozenset[str] | None = None
    kinds: frozenset[str] = frozenset(PACKAGE_KINDS)
    catalogs: bool = True

    def allows(self, role: Role) -> bool:
        if role.name == CATALOG:
            return self.catalogs
        return role.kind in self.kinds and (self.products is None or role.product in self.products)

    def describe(self) -> str:
        if self.kinds:
            products = "any product" if self.products is None else ", ".join(sorted(self.products)) or "no product"
            packages = f"{', '.join(kind for kind in PACKAGE_KINDS if kind in self.kinds)} packages for {products}"
        else:
            packages = "no packages"
        return f"{packages}; {'catalogs' if self.catalogs else 'no catalogs'}"

    def to_dict(self) -> dict:
        return {"products": ANY_PRODUCT if self.products is None else sorted(self.products),
                "kinds": [kind for kind in PACKAGE_KINDS if kind in self.kinds], "catalogs": self.catalogs}


EVERYTHING = Scope()
NOTHING = Scope(frozenset(), frozenset(), False)


def parse_products(text: str) -> frozenset[str] | None:
    """`any`, or product names separated by commas."""
    if text.strip() == ANY_PRODUCT:
        return None
    names = [name.strip() for name in text.split(",")]
    if not names or len(names) > MAX_PRODUCTS or not all(IDENTIFIER.match(name) for name in names):
        raise ValueError(f"products must be `{ANY_PRODUCT}` or up to {MAX_PRODUCTS} names of letters, "
                         "digits and ._+- separated by commas")
    return frozenset(names)


def parse_kinds(text: str) -> frozenset[str]:
    """Package kinds separated by commas, or `none` for a key that signs only catalogs."""
    if text.strip() == "none":
        return frozenset()
    names = {name.strip() for name in text.split(",")}
    if not names <= set(PACKAGE_KINDS):
        raise ValueError(f"kinds must be `none` or some of {', '.join(PACKAGE_KINDS)} separated by commas")
    return frozenset(names)


def scope_from_dict(value, where: str) -> Scope:
    """A key's scope as the trust store's file holds it; anything else is a damaged store."""
    try:
        if not isinstance(value, dict) or set(value) != {"products", "kinds", "catalogs"}:
            raise ValueError("a scope is an object with products, kinds and catalogs")
        products, kinds = value["products"], value["kinds"]
        if products != ANY_PRODUCT and not (isinstance(products, list) and len(products) <= MAX_PRODUCTS
                                            and all(isinstance(p, str) and IDENTIFIER.match(p) for p in products)):
            raise ValueError(f"products must be {ANY_PRODUCT!r} or a list of product names")
        if not (isinstance(kinds, list) and all(isinstance(kind, str) for kind in kinds)
                and set(kinds) <= set(PACKAGE_KINDS)):
            raise ValueError(f"kinds must be a list of {', '.join(PACKAGE_KINDS)}")
        if not isinstance(value["catalogs"], bool):
            raise ValueError("catalogs must be true or false")
    except ValueError as error:
        raise TrustStoreError(f"{where}: {error}") from None
    return Scope(None if products == ANY_PRODUCT else frozenset(products), frozenset(kinds), value["catalogs"])
