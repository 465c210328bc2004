"""Strict-Transport-Security over https and /.well-known/security.txt (RFC 9116)."""

from datetime import UTC, datetime, timedelta

import pytest

from hub import create_app
from hub.config import ConfigError, check_security_contact
from hub.site import HSTS_MAX_AGE

HSTS = f"max-age={HSTS_MAX_AGE}"


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_hsts_over_https(client):
    response = client.get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == HSTS == "max-age=31536000"


def test_hsts_when_the_hubs_address_is_https(app, client, monkeypatch):
    # The proxy ends TLS and says nothing of it: the hub's address still says https.
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub.example.org")
    assert client.get("/healthz").headers["Strict-Transport-Security"] == HSTS
    monkeypatch.setitem(app.config, "BASE_URL", "http://127.0.0.1:5000")
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_hsts_behind_a_trusted_proxy_only(monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path}/hsts.sqlite3")
    monkeypatch.delenv("HUB_BASE_URL", raising=False)
    https = {"X-Forwarded-Proto": "https"}
    monkeypatch.setenv("HUB_PROXY_COUNT", "0")
    direct = create_app({"TESTING": True}).test_client()
    assert "Strict-Transport-Security" not in direct.get("/healthz", headers=https).headers
    monkeypatch.setenv("HUB_PROXY_COUNT", "1")
    proxied = create_app({"TESTING": True}).test_client()
    assert proxied.get("/healthz", headers=https).headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in proxied.get("/healthz").headers


def test_a_page_over_https_has_every_header(client):
    response = client.get("/en/", base_url="https://localhost")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_security_txt_without_a_contact(client):
    assert client.get("/.well-known/security.txt").status_code == 404


@pytest.mark.dates
def test_security_txt(app, client, monkeypatch, instant):
    monkeypatch.setitem(
        app.config, "SECURITY_CONTACT", ["mailto:security@hub.example.org", "https://x.org/s"]
    )
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub.example.org")
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    expires = datetime.combine(instant.date(), datetime.min.time(), UTC) + timedelta(days=180)
    assert response.get_data(as_text=True) == (
        "Contact: mailto:security@hub.example.org\n"
        "Contact: https://x.org/s\n"
        f"Expires: {expires:%Y-%m-%dT%H:%M:%SZ}\n"
        "Preferred-Languages: vi, en, ja\n"
        "Canonical: https://hub.example.org/.well-known/security.txt\n"
    )


@pytest.mark.dates
def test_security_txt_expires_half_a_year_after_the_day_it_is_served(
    app, client, monkeypatch, time_machine
):
    time_machine.move_to(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), tick=False)
    monkeypatch.setitem(app.config, "SECURITY_CONTACT", ["mailto:security@hub.example.org"])
    text = client.get("/.well-known/security.txt").get_data(as_text=True)
    assert "Expires: 2027-06-29T00:00:00Z\n" in text
    assert "Canonical" not in text  # no HUB_BASE_URL: the request's host proves nothing


@pytest.mark.parametrize(
    ("value", "contacts"),
    [
        (None, []),
        ("", []),
        ("security@hub.example.org", ["mailto:security@hub.example.org"]),
        (
            " mailto:a@b.example , https://hub.example.org/security ",
            ["mailto:a@b.example", "https://hub.example.org/security"],
        ),
    ],
)
def test_security_contacts(value, contacts):
    assert check_security_contact(value) == contacts


@pytest.mark.parametrize(
    "value", ["http://hub.example.org/report", "someone", "https://", "tel:+84"]
)
def test_a_contact_that_is_neither_mail_nor_https_is_refused(value):
    with pytest.raises(ConfigError, match="HUB_SECURITY_CONTACT must be e-mail addresses"):
        check_security_contact(value)
