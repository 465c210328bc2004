"""Absolute links: HUB_BASE_URL is their one source, in requests and outside them."""

import json

import icalendar
import pytest
from flask import url_for

from hub.urls import base_url
from tests.support import sample_entries

BASE = "https://ocop-hub.example.org/hub"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


@pytest.fixture
def served_at_base(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", BASE)
    return app


def _links(text):
    return [word.strip('"<>,') for word in text.replace("'", '"').split() if "://" in word]


def test_feeds_calendars_and_the_api_description_link_the_base_url(served_at_base, client):
    with served_at_base.app_context():
        entries = sample_entries()
    feed = client.get("/feeds/policies.json?lang=vi", headers=FORGED).get_json()
    assert feed["home_page_url"] == f"{BASE}/vi/policies"
    assert feed["feed_url"].startswith(f"{BASE}/feeds/policies.json")
    assert feed["items"][0]["url"] == f"{BASE}/vi/policies/{entries['policy'].id}"

    calendar = icalendar.Calendar.from_ical(client.get("/fairs.ics", headers=FORGED).data)
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"fair-{entries['fair'].id}@ocop-hub.example.org"
    assert str(event["url"]).startswith(f"{BASE}/en/fairs/")

    spec = client.get("/api/v1/openapi.json", headers=FORGED).get_json()
    assert spec["servers"] == [{"url": BASE}]


@pytest.mark.parametrize("path", ["/en/", "/ja/countries/VN", "/vi/products", "/en/search?q=tea"])
def test_a_forged_host_never_reaches_a_pages_links(served_at_base, client, path):
    for headers in (FORGED, {}):
        page = client.get(path, headers=headers).get_data(as_text=True)
        assert "evil.example" not in page
        alternates = [link for link in _links(page) if "hreflang" in page and BASE in link]
        assert alternates, "the language versions are linked under the base URL"


def test_unset_links_follow_the_request_inside_and_the_default_outside(app, client):
    assert app.config["BASE_URL"] is None
    feed = client.get("/feeds/policies.json").get_json()
    assert feed["home_page_url"] == "http://localhost/en/policies"
    with app.app_context():
        assert base_url() == "http://127.0.0.1:5000"
        assert url_for("registry.home", lang="ja", _external=True) == "http://127.0.0.1:5000/ja/"


def test_links_made_outside_a_request_use_the_base_url(served_at_base):
    with served_at_base.app_context():
        assert url_for("registry.home", lang="vi", _external=True) == f"{BASE}/vi/"
        assert base_url() == BASE


def test_the_cli_invitation_link_is_under_the_base_url(served_at_base, runner):
    result = runner.invoke(
        args=["hub", "invite", "--email", "new@hub.test", "--role", "admin"], env={"LANG": "C"}
    )
    assert result.exit_code == 0, result.output
    assert f"{BASE}/en/invitations/" in result.output


def test_openapi_servers_without_a_base_url_are_the_requests(client):
    spec = json.loads(client.get("/api/v1/openapi.json").data)
    assert spec["servers"] == [{"url": "http://localhost"}]
