"""Attestations travel: hub B follows hub A (a real server on loopback); a rating A issued
keeps A's signature on B, unchanged, and B's /p/<id> page checks it against A's published keys,
says who issued it, and says so when the keys cannot be fetched or the copy does not match what
A signed. A withdrawal on A reaches B's page and attestation."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

from hub.accounts.models import User
from hub.accounts.services import create_user
from hub.db import upgrade, utctoday
from hub.extensions import db
from hub.publishing import services as publishing
from hub.publishing.models import Entry, Product
from hub.registry.seeding import seed_registry
from hub.sync import pipeline, services
from hub.verification import issuers, jws
from hub.verification import services as verification
from tests.support import PASSWORD, fresh_database, make_test_app

COORDINATOR = "coord.vn@a.test"


@pytest.fixture
def hub_a(tmp_path):
    """The issuing hub, served on loopback, its HUB_BASE_URL its own address."""
    with fresh_database("sqlite", tmp_path) as url:
        app = make_test_app(url, SIGNING_KEYS_FILE=str(tmp_path / "a-keys.json"))
        with app.app_context():
            upgrade(db.engine)
            seed_registry()
            create_user(COORDINATOR, PASSWORD, "coordinator", "VN")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        yield app, app.config["BASE_URL"]
        server.shutdown()
        thread.join(timeout=5)
        db.binding(app).engine.dispose()


@pytest.fixture
def follower(app, tmp_path, monkeypatch):
    """This hub (B), allowed to fetch from loopback, with keys of its own."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(tmp_path / "b-keys.json"))
    issuers.forget(app)
    return app


def _coordinator():
    return db.session.scalar(select(User).where(User.email == COORDINATOR))


def rated_on_a(a):
    with a.test_request_context("/"):
        product = publishing.create_entry(
            _coordinator(),
            "product",
            "vi",
            {"title": "Chè Thái Nguyên"},
            {
                "product_group": "beverages",
                "rating_scheme": "ocop",
                "stars": 4,
                "rated_on": utctoday() - timedelta(days=100),
                "producer_name": "HTX Tân Cương",
            },
        )
        publishing.set_status(_coordinator(), product.id, "published")
        return product.id


def follow(app, a_url, source=None):
    """Run B's hub source of A (made on the first call); the source's id."""
    with app.test_request_context("/"):
        if source is None:
            source = services.add_source("VN", "hub", a_url, {"country": "VN"}).id
        run = pipeline.run_source(source)
        assert run.status == "ok", run.error
    return source


def copy_of(app, a_id):
    with app.app_context():
        return db.session.scalar(select(Entry.id).where(Entry.origin_id == str(a_id)))


def fed_attestation(a, a_id):
    """The attestation A's changes feed carries for the product."""
    items = a.test_client().get("/api/v1/changes?since=0&country=VN").get_json()["items"]
    (item,) = [i for i in items if i["id"] == a_id]
    return item["record"]["attestation"]


def test_a_copied_rating_verifies_against_its_issuing_hub(follower, client, hub_a):
    a, a_url = hub_a
    a_id = rated_on_a(a)
    source = follow(follower, a_url)
    b_id = copy_of(follower, a_id)

    # B answers A's attestation unchanged, and it verifies with A's keys (not B's).
    token = client.get(f"/p/{b_id}/attestation").get_data(as_text=True)
    assert token == fed_attestation(a, a_id)
    a_keys = a.test_client().get("/.well-known/hub-keys.json").get_json()
    claims = jws.verify(token, a_keys)
    assert (claims["iss"], claims["sub"], claims["stars"]) == (a_url, str(a_id), 4)
    with pytest.raises(jws.InvalidAttestation):
        jws.verify(token, client.get("/.well-known/hub-keys.json").get_json())

    page = client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    assert "Issued by" in page and f"the hub at {a_url}" in page
    assert "Verified: this rating is signed by its issuing hub" in page
    assert f'href="{a_url}/.well-known/hub-keys.json"' in page
    ja = client.get(f"/p/{b_id}?lang=ja").get_data(as_text=True)
    assert "署名を検証しました" in ja and a_url in ja

    # A withdraws the rating: B's page says so and still verifies; the signature says so too.
    with a.test_request_context("/"):
        verification.withdraw_rating(_coordinator(), a_id)
    follow(follower, a_url, source)
    with follower.app_context():
        withdrawn_on = db.session.get(Product, b_id).rating_withdrawn_on
    assert withdrawn_on == utctoday()
    page = client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    assert "This rating was withdrawn on" in page
    assert "Verified: this rating is signed by its issuing hub" in page
    token = client.get(f"/p/{b_id}/attestation").get_data(as_text=True)
    assert jws.verify(token, a_keys)["withdrawn_on"] == withdrawn_on.isoformat()

    # Reinstated on A, reinstated on B.
    with a.test_request_context("/"):
        verification.reinstate_rating(_coordinator(), a_id)
    follow(follower, a_url, source)
    page = client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    assert "This rating is valid" in page and "Verified:" in page


def test_without_the_issuers_keys_the_page_says_it_could_not_check(
    follower, client, hub_a, monkeypatch
):
    a, a_url = hub_a
    a_id = rated_on_a(a)
    follow(follower, a_url)
    b_id = copy_of(follower, a_id)
    monkeypatch.setitem(follower.config, "FETCH_ALLOW", [])  # A is on loopback: not reached
    page = client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    assert "could not be checked" in page
    assert "Verified:" not in page
    # The attestation is still served, for whoever can reach A's keys.
    assert client.get(f"/p/{b_id}/attestation").status_code == 200


def test_a_copy_that_differs_from_what_the_issuer_signed_is_flagged(follower, client, hub_a):
    a, a_url = hub_a
    a_id = rated_on_a(a)
    follow(follower, a_url)
    b_id = copy_of(follower, a_id)
    with follower.app_context():  # as if a hub in between had raised the stars
        db.session.execute(update(Product).where(Product.id == b_id).values(stars=5))
        db.session.commit()
    page = client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    assert "Warning: this copy does not match what its issuing hub" in page
    assert "Verified:" not in page


def test_the_issuers_keys_are_kept_between_pages(follower, client, hub_a):
    a, a_url = hub_a
    a_id = rated_on_a(a)
    follow(follower, a_url)
    b_id = copy_of(follower, a_id)
    assert "Verified:" in client.get(f"/p/{b_id}?lang=en").get_data(as_text=True)
    with follower.app_context():
        kept = json.dumps(issuers.issuer_keys(a_url), sort_keys=True)
    assert kept == json.dumps(
        a.test_client().get("/.well-known/hub-keys.json").get_json(), sort_keys=True
    )
