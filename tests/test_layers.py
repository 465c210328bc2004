"""The packages' layers: a package imports only the ones below it.

texts, history and media hold what every feature builds on (per-language texts, revisions,
photos and documents); the
registry comes next; publishing builds on the registry; sync, the API, feeds, search, webhooks
and the admin pages build on both. Nothing below reaches up: a country's page gets its entries
from publishing through ``hub.registry.country_page_part``, not by importing publishing.
"""

import ast
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parent.parent / "hub"
ABOVE_ALL = {"publishing", "sync", "api", "feeds", "search", "webhooks", "admin", "site"}
FORBIDDEN = {
    "texts": ABOVE_ALL | {"registry", "accounts"},
    "history": ABOVE_ALL | {"registry"},
    "media": ABOVE_ALL | {"registry"},
    # What is sent after a commit: below every feature that sends something.
    "outbox": ABOVE_ALL | {"registry", "accounts", "enquiries", "history", "media", "texts"},
    "registry": ABOVE_ALL,
    "publishing": ABOVE_ALL - {"publishing"},
}


def imported_packages(path):
    """The ``hub.<package>`` names a module imports, anywhere in it (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "hub" and len(parts) > 1:
                yield parts[1], node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_does_not_import_those_above_it(package):
    folder = HUB / package
    if not folder.is_dir():
        pytest.skip(f"hub/{package} does not exist yet")
    reaching_up = [
        f"{path.relative_to(HUB.parent)}:{line} imports hub.{name}"
        for path in sorted(folder.rglob("*.py"))
        for name, line in imported_packages(path)
        if name in FORBIDDEN[package]
    ]
    assert reaching_up == []


def test_the_cache_imports_none_of_the_packages_it_serves():
    # Packages register what the data version is made of (hub.cache.version_part) and the
    # cache forgets its version after their commits: it never reaches up into them.
    packages = {path.name for path in HUB.iterdir() if (path / "__init__.py").is_file()}
    reaching_up = [
        f"hub/cache.py:{line} imports hub.{name}"
        for name, line in imported_packages(HUB / "cache.py")
        if name in packages
    ]
    assert reaching_up == []
