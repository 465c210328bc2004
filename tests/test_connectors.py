"""The connector contract: kinds are registered by name, an unknown kind is refused clearly, and
the package stays independent of the hub."""

import ast
from pathlib import Path

import pytest

from connectors import base

CONNECTORS = Path(__file__).resolve().parent.parent / "connectors"


def test_a_registered_kind_is_found_and_an_unknown_one_refused(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", {})

    @base.register
    class Echo(base.Connector):
        kind = "echo"

        def read(self, client, settings, state):
            yield base.Record("1", "products", {"name": settings["name"]})
            yield base.Tombstone("2", "products")
            return {"cursor": 2}

    connector = base.get_connector("echo")
    reader = connector.read(None, connector.validate_settings({"name": "Tea"}), {})
    items = []
    with pytest.raises(StopIteration) as stop:
        while True:
            items.append(next(reader))
    assert items == [base.Record("1", "products", {"name": "Tea"}), base.Tombstone("2", "products")]
    assert stop.value.value == {"cursor": 2}
    assert base.kinds() == ["echo"]
    with pytest.raises(
        base.UnknownConnectorKind, match=r"unknown connector kind 'rss' \(known: echo\)"
    ):
        base.get_connector("rss")


def test_a_kind_cannot_be_registered_twice(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", {})

    @base.register
    class First(base.Connector):
        kind = "csv"

    with pytest.raises(ValueError, match="already registered"):

        @base.register
        class Second(base.Connector):
            kind = "csv"


def test_connectors_import_nothing_from_the_hub():
    for path in CONNECTORS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n == "hub" or n.startswith("hub.")], path
