"""The API's own description: a valid OpenAPI 3 document, and documented examples that pass
their schemas."""

import json
import re
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator, validate
from openapi_spec_validator import validate as validate_spec

from hub.publishing.exchange import RECORD_SCHEMAS

DOC = Path(__file__).resolve().parent.parent / "docs" / "exchange-format.md"


def examples():
    """``(kind, example)`` for each JSON example under a "### <kind>" heading."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for kind, section in re.findall(r"^### (\w+)\n(.*?)(?=^### |^## |\Z)", text, flags=re.S | re.M):
        found += [
            (kind, json.loads(block))
            for block in re.findall(r"```json\n(.*?)```", section, flags=re.S)
        ]
    return found


def test_the_openapi_document_is_valid(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate_spec(spec)
    assert {"/api/v1/changes", "/api/v1/ingest", "/api/v1/products/{id}"} <= set(spec["paths"])


def test_the_changes_feed_documents_its_epoch_and_its_410(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    feed = spec["paths"]["/api/v1/changes"]["get"]
    assert "epoch" in {parameter["name"] for parameter in feed["parameters"]}
    schemas = spec["components"]["schemas"]

    def check(answer, name):  # against the named schema, its references resolved in the spec
        schema = {**schemas[name], "components": {"schemas": schemas}}
        validate(answer.get_json(), schema, cls=OAS30Validator)

    page = client.get("/api/v1/changes")
    assert feed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChangesPage"
    )
    check(page, "ChangesPage")
    gone = client.get("/api/v1/changes?since=0&epoch=another")
    assert gone.status_code == 410
    assert feed["responses"]["410"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChangesRestarted"
    )
    check(gone, "ChangesRestarted")


def test_every_kind_has_a_documented_example():
    assert sorted({kind for kind, _ in examples()}) == ["experience", "fair", "policy", "product"]


@pytest.mark.parametrize(("kind", "example"), examples())
def test_each_documented_example_passes_its_json_schema_and_the_hubs_schema(client, kind, example):
    schema = client.get(f"/api/v1/schemas/{kind}.json").get_json()
    validate(example, schema, cls=OAS30Validator)
    RECORD_SCHEMAS[kind].load(example)  # what the hub itself accepts


def test_a_bad_record_fails_the_json_schema(client):
    schema = client.get("/api/v1/schemas/product.json").get_json()
    with pytest.raises(Exception, match="colour"):
        validate(
            {"source_language": "en", "translations": {}, "product_group": "food", "colour": "red"},
            schema,
            cls=OAS30Validator,
        )
