"""Imports run one way: common <- server, client <- simulations; nothing imports simulations."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "server", "client", "proto", "simulations")
FORBIDDEN = {
    "common": {"server", "client", "simulations"},
    "proto": {"server", "client", "simulations"},
    "server": {"client", "simulations"},
    "client": {"server", "simulations"},
    "simulations": set(),
}


def imported_packages(path: Path) -> set[str]:
    """The tastevec subpackages a module imports, by absolute or relative import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports leave the package only through ..
                if node.level > 1:
                    found.add("<relative import out of the package>")
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "tastevec" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] in PACKAGES:
                found.add(f"<top-level {parts[0]}>")  # must be imported as tastevec.<pkg>
    return found


def sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "_pb2" not in p.name)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_respect_the_layering(package: str) -> None:
    violations = []
    for path in sources(package):
        for imported in imported_packages(path):
            if imported in FORBIDDEN[package] or imported.startswith("<"):
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not violations, "\n".join(violations)


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from tastevec.server.cli import main\nimport common.errors\n")
    assert imported_packages(module) == {"server", "<top-level common>"}


def test_packages_are_regular_except_proto() -> None:
    # proto/ stays a namespace portion so that it can never shadow proto-plus (see its README)
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file() == (package != "proto"), package
