"""The dependency rules of docs/architecture.md, checked on the source."""

import ast
import re
from pathlib import Path

import pytest

FLASHER = Path(__file__).resolve().parent.parent / "flasher"


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:`, which only type checkers import."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            yield from (child for orelse in node.orelse for child in [orelse, *_runtime_nodes(orelse)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against flasher)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(FLASHER.parent).with_suffix("").parts[:-1])
    names = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module)
    return names


def _modules(folder: str = "") -> list[Path]:
    return sorted((FLASHER / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(FLASHER)))
def test_the_core_never_imports_qt_or_the_app(path):
    bad = {name for name in _imports(path) if name.split(".")[0] in ("PySide6", "app")}
    assert not bad


@pytest.mark.parametrize("path", _modules("protocol"), ids=lambda p: p.name)
def test_the_protocol_does_no_io(path):
    bad = {name for name in _imports(path)
           if name.split(".")[0] in ("socket", "select", "serial", "usb", "io", "os", "threading", "asyncio")}
    assert not bad


@pytest.mark.parametrize("path", _modules("transport"), ids=lambda p: p.name)
def test_transports_know_nothing_of_commands(path):
    assert not {name for name in _imports(path) if name.startswith(("flasher.protocol", "flasher.fastboot"))}


@pytest.mark.parametrize("path", [p for p in _modules() if "virtual" not in p.parts and "cli" not in p.parts],
                         ids=lambda p: str(p.relative_to(FLASHER)))
def test_only_the_cli_reaches_the_virtual_handset(path):
    assert not {name for name in _imports(path) if name.startswith("flasher.virtual")}


APP = FLASHER.parent / "app"
ARCHITECTURE = FLASHER.parent / "docs" / "architecture.md"


def _unit(module: str) -> str | None:
    """The row of the layers table a module belongs to: `update`, `fastboot`, `app`..."""
    parts = module.split(".")
    if parts[0] == "app":
        return "app"
    return parts[1] if parts[0] == "flasher" and parts[1:] not in ([], ["__init__"]) else None


def _names(cell: str) -> set[str]:
    """The units a table cell names, leaving out what its parentheses say of them."""
    while "(" in cell:
        cell = re.sub(r"\([^()]*\)", "", cell)
    return {name.removesuffix("/").removesuffix(".py").split(".")[0] for name in re.findall(r"`([^`]+)`", cell)}


def _stated_arrows() -> dict[str, set[str]]:
    """What each unit imports, as the layers table of docs/architecture.md says."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("All arrows point one way"):text.index("Rules the code keeps")]
    imports: dict[str, set[str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for unit in _names(cells[0]):
                imports.setdefault(unit, set()).update(_names(cells[1]) - {"errors"})
    return imports


def _actual_arrows() -> dict[str, set[str]]:
    imports: dict[str, set[str]] = {}
    for path in _modules() + sorted(APP.rglob("*.py")):
        source = _unit(".".join(path.relative_to(FLASHER.parent).with_suffix("").parts))
        if source is None:
            continue
        targets = imports.setdefault(source, set())
        for name in _imports(path):
            if (target := _unit(name)) and target not in (source, "errors", "app"):  # everything imports errors
                targets.add(target)
    return imports


def test_the_architecture_table_states_every_import_and_no_other():
    assert _actual_arrows() == _stated_arrows()


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=lambda p: p.name)
def test_the_app_reaches_the_virtual_handset_only_for_demo_mode(path):
    assert {name for name in _imports(path) if name.startswith("flasher.virtual")} <= {"flasher.virtual.demo"}
