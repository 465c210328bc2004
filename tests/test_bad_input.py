"""Bad input gets a 4xx with its reasons, never a 500, and changes nothing (issue 18, §4).

JSON nested too deeply, lone surrogates, a file where a form wants text, fields of the wrong
type, bodies over the size limit, ids in other digits than ASCII: on every write route of the
API (taken from the app's own URL rules) and on the forms, on both databases.
"""

import io
import json

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from hub.db import Base, parse_id
from hub.extensions import db
from hub.forms import HubForm, _text_fields
from hub.media.models import Media
from hub.request_limits import MAX_JSON_DEPTH, too_deep
from tests.support import csrf_token, sample_entries, sign_in

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
DEEP = b"[" * 1000 + b"]" * 1000
SURROGATE = "\ud800"


@pytest.fixture
def entries(app):
    with app.test_request_context("/"):
        found = {kind: entry.id for kind, entry in sample_entries().items()}
        # A photo of the policy, for the media routes (a row is enough: nothing is read).
        medium = Media(entry_id=found["policy"], kind="image", mime="image/png", status="ready",
                       sha256="0" * 64, size=1, original_key="o/" + "0" * 64)  # fmt: skip
        db.session.add(medium)
        db.session.commit()
        return {**found, "policy_medium": medium.id}


def api_writes(app, entries):
    """``(method, url)`` for every write the API takes, its path filled in with one of Viet
    Nam's published entries (so that a refusal is not just a 404)."""
    values = {
        "collection": "policies",
        "entry_id": entries["policy"],
        "media_id": entries["policy_medium"],
    }
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            for method in rule.methods & WRITES:
                arguments = {name: values[name] for name in rule.arguments}
                found.append((method, adapter.build(rule.endpoint, arguments, method=method)))
    return sorted(set(found))


def state(app):
    """Every row of every table (but the tokens' time of last use)."""
    rows = {}
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_dt"]
            rows[table.name] = sorted(map(repr, db.session.execute(select(*columns)).all()))
    return rows


def error_of(response, status, reason):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["reason"]) == (status, reason)
    return error


def in_japanese(app, message, **values):
    with app.test_request_context("/"), force_locale("ja"):
        return gettext(message, **values)


def test_every_write_route_of_the_api_is_covered(app, entries):
    writes = api_writes(app, entries)
    assert ("POST", "/api/v1/ingest") in writes and ("POST", "/api/v1/validate") in writes
    assert ("PATCH", f"/api/v1/policies/{entries['policy']}") in writes
    assert len(writes) >= 6


def test_json_nested_a_thousand_levels_is_refused_before_parsing(app, client, tokens, entries):
    headers = {**tokens["VN"], "Accept-Language": "ja", "Content-Type": "application/json"}
    client.post("/api/v1/validate", data=b"{}", headers=headers)  # the token's first use
    before = state(app)
    message = in_japanese(
        app, "The JSON is nested more than %(max)s levels deep.", max=MAX_JSON_DEPTH
    )
    for method, url in api_writes(app, entries):
        if method == "DELETE":  # takes no body
            continue
        response = client.open(url, method=method, data=DEEP, headers=headers)
        assert response.status_code < 500, (method, url)
        if url.endswith("/validate"):  # the document is what is checked: its report
            assert list(error_of(response, 422, "invalid_input")["details"]) == ["document"]
        elif url.endswith("/media"):  # takes a file, never JSON: it says where the file goes
            assert list(error_of(response, 422, "invalid_input")["details"]) == ["file"]
        elif not url.endswith(("/restore", "/anything")):
            assert response.status_code == 400, (method, url)
            assert error_of(response, 400, "too_deep")["message"] == message, (method, url)
        assert state(app) == before, (method, url)
    # As deep as allowed is read, then refused for what it says.
    shallow = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    response = client.post("/api/v1/policies", data=shallow, headers=headers)
    error_of(response, 422, "invalid_input")


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), True),
        ("[" * (MAX_JSON_DEPTH + 1), True),  # never closed: json.loads would recurse all the same
        ("{" + '"a": [' * 1000 + "[{}]" + "]" * 1000 + "}", True),
        ('{"a": "' + "[" * 1000 + '"}', False),
        ('{"a": "\\"' + "[" * 1000 + '", "b": [[1]]}', False),
        ('{"a": "\\\\", "b": ' + "[" * 100 + "]" * 100 + "}", True),
        ("[[], [[]], {}]" * 1000, False),
        ("x" * 100, False),
    ],
)
def test_the_depth_is_counted_outside_strings(text, deep):
    assert too_deep(text) is deep
    assert too_deep(text.encode()) is deep


@pytest.mark.parametrize(
    "body",
    [
        (b'{"translations": {"vi": {"title": "a\\ud800b"}}}'),
        b'{"translations": {"vi": {"title": "a' + b"\xed\xa0\x80" + b'b"}}}',
    ],
    ids=["escape", "bytes"],
)
def test_a_lone_surrogate_is_refused_per_field_on_every_write(app, client, tokens, entries, body):
    headers = {**tokens["VN"], "Content-Type": "application/json"}
    refused = ["This text is not valid Unicode (it has a lone surrogate)."]
    create = json.loads(body)
    create.update(source_language="vi", instrument="decision")
    # A push refuses the record alone, and its run says so.
    record = {"id": "p1", "collection": "policies", "record": create}
    response = client.post(
        "/api/v1/ingest", data=json.dumps({"records": [record]}), headers=headers
    )
    assert response.get_json()["rejected"] == [
        {"id": "p1", "reasons": {"translations.vi.title": refused}}
    ]
    before = state(app)
    for method, url in api_writes(app, entries):
        if url.endswith(("/ingest", "/validate", "/restore", "/anything")) or method == "DELETE":
            continue
        if "/media" in url:  # alt texts, not translations: tests/test_media_upload.py
            continue
        data = json.dumps(create).encode() if method == "POST" else body
        response = client.open(url, method=method, data=data, headers=headers)
        details = error_of(response, 422, "invalid_input")["details"]
        assert details == {"translations.vi.title": refused}, (method, url)
        assert state(app) == before, (method, url)
    # In a key too, made printable in the answer.
    response = client.patch(
        f"/api/v1/policies/{entries['policy']}",
        data=b'{"translations": {"\\udc00": {}}}',
        headers=headers,
    )
    assert list(error_of(response, 422, "invalid_input")["details"]) == ["translations.\ufffd"]


@pytest.mark.parametrize(
    "change",
    [
        {"translations": 5},
        {"translations": ["vi"]},
        {"translations": "vi"},
        {"translations": {"vi": 5}},
        {"translations": {"vi": {"title": 5}}},
        {"translations": None},
        {"status": 5},
        {"instrument": ["decision"]},
        {"issued_on": 20180507},
        {"source_language": {"vi": 1}},
    ],
)
def test_a_patch_of_the_wrong_type_is_refused_like_a_post(app, client, tokens, entries, change):
    url = f"/api/v1/policies/{entries['policy']}"
    before = state(app)
    response = client.patch(url, json=change, headers=tokens["VN"])
    details = error_of(response, 422, "invalid_input")["details"]
    assert set(details) & ({*change, "_schema"}), details
    assert state(app) == before


@pytest.mark.parametrize("body", [[], "x", 5, None])
def test_a_body_that_is_no_object_is_refused(client, tokens, entries, body):
    for method, url in [
        ("POST", "/api/v1/policies"),
        ("PATCH", f"/api/v1/policies/{entries['policy']}"),
    ]:
        response = client.open(url, method=method, json=body, headers=tokens["VN"])
        assert error_of(response, 422, "invalid_input")["details"] == {
            "_body": ["Send a JSON object."]
        }


class Unread(io.RawIOBase):
    """A request body of ``size`` bytes that must not be read."""

    def __init__(self, size):
        super().__init__()
        self.size, self.at = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        raise AssertionError("the body was read")

    def tell(self):
        return self.at

    def seek(self, offset, whence=0):
        self.at = offset + (self.size if whence == io.SEEK_END else 0)
        return self.at


def test_a_body_over_the_limit_is_refused_before_it_is_read(app, client, tokens, entries):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert 1024 * 1024 <= limit <= 16 * 1024 * 1024
    headers = {**tokens["VN"], "Accept-Language": "ja", "Content-Type": "application/json"}
    before = state(app)
    for method, url in api_writes(app, entries):
        document = url.endswith(("/ingest", "/validate"))
        upload = method == "POST" and url.endswith("/media")  # a file: the media limit
        allowed = app.config["MEDIA_MAX_REQUEST_BYTES"] if upload else limit
        size = (10 * 1024 * 1024 if document else allowed) + 1
        response = client.open(url, method=method, input_stream=Unread(size), headers=headers)
        error = error_of(response, 413, "too_large")
        if document:
            expected = in_japanese(
                app, "The document is larger than %(max)s bytes.", max="10,485,760"
            )
        elif upload:
            expected = in_japanese(
                app,
                "The upload is larger than %(max)s bytes, the most the hub accepts for photos "
                "and documents sent at once.",
                max=f"{allowed:,}",
            )
        else:
            expected = in_japanese(
                app,
                "The request is larger than %(max)s bytes, the most the hub accepts.",
                max=f"{limit:,}",
            )
        assert error["message"] == expected, (method, url)
    assert state(app) == before
    # A form too, before its CSRF token is looked for.
    page = client.open(
        "/ja/login",
        method="POST",
        input_stream=Unread(limit + 1),
        content_type="application/x-www-form-urlencoded",
    )
    assert page.status_code == 413
    assert in_japanese(app, "What was sent is larger than the hub accepts.") not in ("", None)
    # A document under its own limit but over the general one is read.
    big = {"records": [{"id": "x" * (limit + 10), "collection": "policies", "record": {}}]}
    response = client.post("/api/v1/ingest", json=big, headers=tokens["VN"])
    assert response.status_code == 200


def test_the_limit_is_a_setting(monkeypatch):
    from tests.support import make_test_app

    monkeypatch.setenv("HUB_MAX_CONTENT_LENGTH", "1000")
    app = make_test_app("sqlite://")
    assert app.config["MAX_CONTENT_LENGTH"] == 1000
    response = app.test_client().post("/en/login", data={"email": "x" * 2000})
    assert response.status_code == 413


def _hub_forms(cls=HubForm):
    for sub in cls.__subclasses__():
        yield sub
        yield from _hub_forms(sub)


def _names(fields):
    return [field.name for field in _text_fields(fields) if field.type != "CSRFTokenField"]


@pytest.mark.parametrize("form_class", [HubForm, *_hub_forms()], ids=lambda c: c.__name__)
def test_a_file_in_any_forms_text_field_is_its_validation_error(app, form_class):
    with app.test_request_context("/", method="POST"):
        names = _names(form_class(meta={"csrf": False}))
    data = {name: (io.BytesIO(b"text"), "a.txt") for name in names}
    with app.test_request_context("/", method="POST", data=data):
        form = form_class(meta={"csrf": False})
        assert form.validate() is not bool(names)
        errors = {field.name: field.errors for field in _text_fields(form)}
    for name in names:
        assert "Send this as a text field, not as a file." in errors[name], name


def test_a_file_in_a_pages_text_field_gets_the_page_back_with_its_error(app, client):
    token = csrf_token(client, "/en/login")
    response = client.post(
        "/en/login",
        data={
            "email": (io.BytesIO(b"admin@hub.test"), "e.txt"),
            "password": "x",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "Send this as a text field, not as a file." in response.get_data(as_text=True)

    assert sign_in(client, "coordinator.vn@hub.test").status_code == 302
    url = "/en/manage/policy/new"
    token = csrf_token(client, url)
    before = state(app)
    response = client.post(
        url,
        data={
            "title": (io.BytesIO(b"A policy"), "t.txt"),
            "source_language": "en",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "Send this as a text field, not as a file." in response.get_data(as_text=True)
    assert state(app) == before


def test_ids_are_ascii_digits(app, client, entries):
    policy = entries["policy"]
    assert client.get(f"/en/policies/{policy}").status_code == 200
    arabic = "".join(chr(0x0660 + int(d)) for d in str(policy))
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(policy))
    for digits in (arabic, fullwidth):
        assert client.get(f"/en/policies/{digits}").status_code == 404
        assert client.get(f"/api/v1/policies/{digits}").status_code == 404
        assert parse_id(digits) is None
    assert client.get("/api/v1/policies/0").status_code == 404
    assert client.get(f"/api/v1/policies/{2**31}").status_code == 404


def test_a_non_integer_id_is_a_404_whatever_the_method(client, tokens):
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open("/api/v1/policies/abc", method=method, headers=tokens["VN"])
        error_of(response, 404, "not_found")
    response = client.post("/api/v1/policies/abc/restore", headers=tokens["VN"])
    error_of(response, 404, "not_found")


def test_a_method_a_route_does_not_take_is_a_405_with_allow(client):
    response = client.get("/api/v1/ingest")
    error_of(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    response = client.put("/api/v1/policies")
    error_of(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


def test_an_id_past_the_largest_is_a_404_whatever_the_method(client, tokens):
    for method in ("GET", "PATCH", "DELETE"):
        for number in (2**31, 10**10, 785091410504792960):
            response = client.open(
                f"/api/v1/policies/{number}", method=method, headers=tokens["VN"]
            )
            error_of(response, 404, "not_found")


@pytest.mark.parametrize("limit", [0, 5, 9, 10, 19, 20, 99, 101, 2047, 12345])
def test_the_id_pattern_takes_the_numbers_up_to_its_limit(limit):
    import re

    from hub.db import _digits_up_to

    pattern = re.compile(_digits_up_to(limit))
    assert [n for n in range(limit * 3 + 20) if pattern.fullmatch(str(n))] == list(range(limit + 1))


@pytest.mark.parametrize(
    "query",
    [
        "fairs?when=",
        "fairs?when=soon",
        "products?valid=",
        "products?valid=yes",
        "products?group=",
        "countries?status=",
    ],
)
def test_a_choice_outside_its_options_is_refused(client, query):
    name = query.split("?")[1].split("=")[0]
    assert list(error_of(client.get(f"/api/v1/{query}"), 422, "invalid_input")["details"]) == [name]


def test_an_empty_country_is_any_country(client, entries):
    for url in ("/api/v1/policies", "/api/v1/programmes", "/api/v1/changes"):
        assert client.get(f"{url}?country=").get_json() == client.get(url).get_json()
