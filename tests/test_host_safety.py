"""No visitor gets an answer made for another host: a forged ``Host``, ``X-Forwarded-Host`` or
``X-Forwarded-Proto`` never reaches a later ordinary visitor of any cached route, through the
answer cache inside Flask or the replay in front of it, with or without a trusted proxy."""

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.extensions import db
from hub.registry.models import Programme
from hub.urls import LOOPBACK_HOSTS, trusted_hosts
from tests.support import sample_entries

PUBLIC = "hub.example.org"
EVIL = "evil.example"
KINDS = {"policies": "policy", "experiences": "experience", "fairs": "fair", "products": "product"}
# A cookie that is no session: the replay is skipped, the answer cache inside Flask is not.
NO_REPLAY = {"Cookie": "unrelated=1"}


def cached_urls(app):
    """A URL of every route whose view is cached (``answer_cache``), for every collection."""
    with app.test_request_context("/"):
        entries = sample_entries()
        programme = db.session.scalars(select(Programme.id).order_by(Programme.id)).first()
        urls = {}
        for rule in app.url_map.iter_rules():
            if not getattr(app.view_functions[rule.endpoint], "answer_cache", False):
                continue
            values = {"lang": "ja", "code": "VN", "programme_id": programme}
            if rule.endpoint in ("search.search", "api.search"):
                values["q"] = "chè"
            kinds = KINDS if "collection" in rule.arguments else {None: None}
            for collection, kind in kinds.items():
                values.update(collection=collection, entry_id=kind and entries[kind].id)
                args = {k: v for k, v in values.items() if k in rule.arguments or k == "q"}
                urls[rule.endpoint, collection] = url_for(rule.endpoint, **args)
    return urls


def test_every_cached_route_is_covered(app):
    urls = cached_urls(app)
    assert {endpoint for endpoint, _ in urls} >= {
        "registry.home",
        "registry.country",
        "publishing.detail",
        "search.search",
        "api.entry_list",
        "api.changes",
    }
    assert len(urls) >= 13


def _behind_a_proxy(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROXY_COUNT", 1)
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))


FORGED = [
    {"Host": EVIL},
    {"X-Forwarded-Host": EVIL},
    {"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "http"},
    {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "http"},
    {"X-Forwarded-Proto": "http"},
]


def _visit(client, url, **kwargs):
    response = client.get(url, **kwargs)
    return response.status_code, response.get_data(as_text=True)


def _ordinary_visits(client, url, base):
    """What two ordinary visitors get, one through the replay and one past it, twice each."""
    for _ in range(2):
        for headers in ({}, NO_REPLAY):
            yield _visit(client, url, base_url=base, headers=headers)


@pytest.mark.parametrize("proxy", [False, True], ids=["direct", "proxied"])
def test_with_a_base_url_no_forged_header_reaches_anyone(app, client, monkeypatch, proxy):
    monkeypatch.setitem(app.config, "BASE_URL", f"https://{PUBLIC}")
    if proxy:
        _behind_a_proxy(app, monkeypatch)
    for url in cached_urls(app).values():
        for forged in FORGED:
            for extra in ({}, NO_REPLAY):
                # An http visit of the public host, or a forged one: links are the base URL's.
                status, text = _visit(
                    client, url, base_url=f"http://{PUBLIC}", headers=forged | extra
                )
                assert status == 200, url
                assert EVIL not in text and f"http://{PUBLIC}" not in text, (url, forged)
        for status, text in _ordinary_visits(client, url, f"https://{PUBLIC}"):
            assert status == 200
            assert EVIL not in text and "http://" + PUBLIC not in text, url
            assert "http://localhost" not in text, url
            if url.startswith("/ja/"):
                assert f'href="https://{PUBLIC}/vi/' in text, "the language links are the base's"


def test_without_a_base_url_only_loopback_names_are_answered(app, client):
    assert app.config["BASE_URL"] is None and app.config["TRUSTED_HOSTS"] is None
    assert trusted_hosts(app.config) == list(LOOPBACK_HOSTS)
    for url in cached_urls(app).values():
        for extra in ({}, NO_REPLAY):
            status, text = _visit(client, url, headers={"Host": EVIL} | extra)
            assert status == 400 and EVIL not in text, url  # refused before routing
            status, text = _visit(client, url, headers={"Host": f"{EVIL}:5000"} | extra)
            assert status == 400, url
            # Without a trusted proxy, the X-Forwarded-* headers mean nothing.
            status, text = _visit(client, url, headers=FORGED[3] | {"Host": "127.0.0.1:5000"})
            assert status == 200 and EVIL not in text, url
        for host in ("localhost", "127.0.0.1:5000"):
            for status, text in _ordinary_visits(client, url, f"http://{host}"):
                assert status == 200 and EVIL not in text, url
                if url.startswith("/ja/"):
                    assert f'href="http://{host}/vi/' in text, "links follow the trusted host"


def test_behind_a_proxy_without_a_base_url_a_scheme_or_host_never_spreads(app, client, monkeypatch):
    urls = cached_urls(app)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", [PUBLIC])
    _behind_a_proxy(app, monkeypatch)
    for url in urls.values():
        for extra in ({}, NO_REPLAY):
            for forged in FORGED[:4]:
                status, text = _visit(
                    client, url, base_url=f"https://{PUBLIC}", headers=forged | extra
                )
                assert status == 400 and EVIL not in text, (url, forged)
            # An http visit through the proxy is answered with http links, for it alone.
            status, text = _visit(
                client, url, base_url=f"https://{PUBLIC}", headers=FORGED[4] | extra
            )
            assert status == 200, url
            if url.startswith("/ja/"):
                assert f'href="http://{PUBLIC}/vi/' in text
        for status, text in _ordinary_visits(client, url, f"https://{PUBLIC}"):
            assert status == 200 and EVIL not in text, url
            assert f"http://{PUBLIC}" not in text, "an https visitor gets no http link"
            if url.startswith("/ja/"):
                assert f'href="https://{PUBLIC}/vi/' in text


def test_the_base_urls_host_is_trusted_with_the_listed_ones(monkeypatch):
    from hub import create_app

    monkeypatch.setenv("HUB_BASE_URL", f"https://{PUBLIC}/ocop")
    monkeypatch.setenv("HUB_TRUSTED_HOSTS", "127.0.0.1, localhost")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert app.config["TRUSTED_HOSTS"] == ["127.0.0.1", "localhost", PUBLIC]
    client = app.test_client()
    assert client.get("/healthz", base_url=f"https://{PUBLIC}").status_code == 200
    assert client.get("/healthz", base_url="http://127.0.0.1:5000").status_code == 200
    assert client.get("/healthz", headers={"Host": EVIL}).status_code == 400
