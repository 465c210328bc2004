"""Schemathesis, run against the API's own OpenAPI document (``/api/v1/openapi.json``).

Requests are generated from the document for every operation, with a valid token of Viet Nam
and a few published entries in the database, on each database. No answer may be a server error,
and every answer must match the document: documented status, content type, headers and response
schema. Requests that fit the document go through every check schemathesis has; reads among them
must be accepted. (Writes are generated from the record schemas, which cannot state the rules
across fields — a text in the source language, a fair's end after its start — so a refused write
is only checked to be a documented 422.) Requests that do not fit it (a non-integer id, an empty
or unknown choice) must be refused, with a documented status.

Generated cursors are left out: only one the API gave is valid, which a schema cannot say (the
changes feed's ``since`` and ``epoch`` too, in valid requests: a number past its newest
change, or another epoch, is answered 410, as documented).
Schemathesis's pytest plugin does not work under pytest 9, so each operation's strategy is
driven by Hypothesis directly.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import sample_entries

load_all_checks()
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def api(app, monkeypatch):
    from hub.api.auth import issue_token

    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "1000000 per minute")
    with app.test_request_context("/"):
        sample_entries()
        token = issue_token("Schemathesis", "VN")[1]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    return operations, {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}


def run_operation(operation, headers, mode):
    """Every generated request to one operation, called and checked; raises what it finds."""
    if mode == GenerationMode.NEGATIVE:
        checks, excluded = [*CONFORMANCE, negative_data_rejection], []
    else:
        checks = None  # all of them
        excluded = [] if operation.method == "get" else [positive_data_acceptance]

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        # A cursor is opaque: only one the API gave is valid, which no schema can say.
        # (Other tests show that a forged cursor is refused with 422.)
        if case.query:
            case.query.pop("cursor", None)
            if operation.path == "/api/v1/changes" and mode == GenerationMode.POSITIVE:
                case.query.pop("since", None)
                case.query.pop("epoch", None)
        sent = headers
        header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
        if header is not None and header.mode == GenerationMode.NEGATIVE:
            # What is wrong may be the missing token itself: not put back.
            sent = {k: v for k, v in headers.items() if k != "Authorization"}
        case.call_and_validate(headers=sent, checks=checks, excluded_checks=excluded)

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_every_generated_request_as_documented(api, mode):
    operations, headers = api
    assert len(operations) == 57  # + each collection's media (5 operations), + search
    failures = []
    for operation in operations:
        try:
            run_operation(operation, headers, mode)
        except (Exception, BaseExceptionGroup) as exc:  # every operation's findings, together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
