"""Attestations travel: hub B follows hub A (a real server on loopback); a rating A issued
keeps A's signature on B, unchanged, and B's /p/<id> page checks it against A's published keys,
says who issued it, and says so when the keys cannot be fetched or the copy does not match what
A signed. A withdrawal on A reaches B's page and attestation. Through three hubs (A → B → C,
each on a database and with keys of its own) C's copy still carries A's signature and is
checked with A's keys."""

import json
import threading
from contextlib import ExitStack
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
from hub.verification.keys import b64url, b64url_decode
from tests.support import PASSWORD, fresh_database, make_test_app
from tests.test_origin import served_hub

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


@pytest.fixture
def chain(backend, tmp_path):
    """Hubs A, B and C, each on a database and with signing keys of its own, served on
    loopback: B follows A, C follows B (hub sources of VN); ``(hubs, sources)``."""
    with ExitStack() as stack:
        hubs = {}
        for name in "ABC":
            directory = tmp_path / name
            directory.mkdir()
            keys = str(directory / "keys.json")
            hubs[name] = stack.enter_context(served_hub(backend, directory, SIGNING_KEYS_FILE=keys))
        sources = {}
        for follower, followed in (("B", "A"), ("C", "B")):
            with hubs[follower].app_context():
                url = hubs[followed].config["BASE_URL"]
                sources[follower] = services.add_source("VN", "hub", url, {"country": "VN"}).id
        yield hubs, sources


def sync_chain(hubs, sources):
    """B syncs from A, then C from B."""
    for name in "BC":
        with hubs[name].test_request_context("/"):
            run = pipeline.run_source(sources[name])
            assert run.status == "ok", (name, run.error)


def stored(app, a_url, a_id):
    """The hub's copy of A's product: ``(id, stored attestation, withdrawn on)``."""
    with app.app_context():
        copy = db.session.scalar(
            select(Product).where(Product.origin_hub == a_url, Product.origin_id == str(a_id))
        )
        return copy.id, copy.rating_attestation, copy.rating_withdrawn_on


def verification_page(app, product_id):
    return app.test_client().get(f"/p/{product_id}?lang=en").get_data(as_text=True)


def test_a_rating_keeps_its_issuers_signature_through_two_hubs(chain):
    """Issue 20 §3: A rates a product, B copies it from A and C from B. C's copy carries A's
    signature byte for byte, C checks it with the keys A publishes (never B's: B does not
    re-sign what it passes on), A's withdrawal reaches B and C, and a copy B altered is flagged
    on B and on C."""
    hubs, sources = chain
    a, b, c = hubs["A"], hubs["B"], hubs["C"]
    a_url, b_url = a.config["BASE_URL"], b.config["BASE_URL"]
    with a.app_context():
        create_user(COORDINATOR, PASSWORD, "coordinator", "VN")
    a_id = rated_on_a(a)
    sync_chain(hubs, sources)
    signed = fed_attestation(a, a_id)
    b_id, on_b, _ = stored(b, a_url, a_id)
    c_id, on_c, _ = stored(c, a_url, a_id)
    assert on_b == signed and on_c == signed
    assert b.test_client().get(f"/p/{b_id}/attestation").get_data(as_text=True) == signed
    assert c.test_client().get(f"/p/{c_id}/attestation").get_data(as_text=True) == signed
    # B's feed passes A's signature on as it came: B signs nothing of A's.
    b_items = b.test_client().get("/api/v1/changes?since=0&country=VN").get_json()["items"]
    (item,) = [i for i in b_items if i["id"] == b_id]
    assert item["record"]["attestation"] == signed
    a_keys = a.test_client().get("/.well-known/hub-keys.json").get_json()
    b_keys = b.test_client().get("/.well-known/hub-keys.json").get_json()
    assert jws.verify(signed, a_keys)["iss"] == a_url
    with pytest.raises(jws.InvalidAttestation):
        jws.verify(signed, b_keys)

    # C's page: verified with A's keys, fetched from A (C never asked B for keys).
    page = verification_page(c, c_id)
    assert "Verified: this rating is signed by its issuing hub" in page
    assert f"the hub at {a_url}" in page and f'href="{a_url}/.well-known/hub-keys.json"' in page
    assert b_url not in page
    assert set(issuers._cache(c)) == {a_url}

    # A withdraws the rating: after the syncs, B and C say so, still signed by A.
    with a.test_request_context("/"):
        verification.withdraw_rating(_coordinator(), a_id)
    sync_chain(hubs, sources)
    withdrawn = fed_attestation(a, a_id)
    assert withdrawn != signed and jws.verify(withdrawn, a_keys)["withdrawn_on"]
    for app, copy_id in ((b, b_id), (c, c_id)):
        _, token, withdrawn_on = stored(app, a_url, a_id)
        assert token == withdrawn and withdrawn_on is not None
        page = verification_page(app, copy_id)
        assert "This rating was withdrawn on" in page
        assert "Verified: this rating is signed by its issuing hub" in page

    # B's stored attestation altered (the stars raised in what A signed), and passed on as a
    # change of B's: B's page warns, and C's does after the sync.
    header, payload, signature = withdrawn.split(".")
    claims = json.loads(b64url_decode(payload))
    forged_payload = b64url(json.dumps({**claims, "stars": 5}, separators=(",", ":")).encode())
    forged = f"{header}.{forged_payload}.{signature}"
    with b.app_context():
        db.session.execute(
            update(Product)
            .where(Product.id == b_id)
            .values(rating_attestation=forged, change_seq=publishing.next_change_seq())
        )
        db.session.commit()
    warning = "Warning: this copy does not match what its issuing hub"
    page = verification_page(b, b_id)
    assert warning in page and "Verified:" not in page
    sync_chain(hubs, sources)
    assert stored(c, a_url, a_id)[1] == forged
    page = verification_page(c, c_id)
    assert warning in page and "Verified:" not in page
    assert set(issuers._cache(c)) == {a_url}
