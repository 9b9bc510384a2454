"""The dependency rules of docs/architecture.md, checked on the source."""

import ast
from pathlib import Path

import pytest

FLASHER = Path(__file__).resolve().parent.parent / "flasher"


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against flasher)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(FLASHER.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
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
    assert not {name for name in _imports(path) if name.startswith(("flasher.protocol", "flasher.device"))}


@pytest.mark.parametrize("path", [p for p in _modules() if "virtual" not in p.parts and "cli" not in p.parts],
                         ids=lambda p: str(p.relative_to(FLASHER)))
def test_only_the_cli_reaches_the_virtual_handset(path):
    assert not {name for name in _imports(path) if name.startswith("flasher.virtual")}
