"""Verification by QR: /p/<id> confirms a product's rating in the visitor's language and says
clearly when it has expired or been withdrawn; its QR codes encode that page's address (or the
address and the signed attestation); the attestation is a compact JWS that verifies with the
keys at /.well-known/hub-keys.json, fails when tampered with, and still verifies after the keys
are rotated; only the product's country's coordinators withdraw or reinstate a rating."""

import io
import json
import os
import stat
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest
import segno
import zxingcpp
from babel.dates import format_date
from joserfc import jws as jose_jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from PIL import Image
from sqlalchemy import select

from hub.accounts.models import AuditEvent
from hub.extensions import db
from hub.history.models import Revision
from hub.publishing.models import Product
from hub.verification import jws, keys
from tests.support import csrf_token, sample_entries, sign_in

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
BASE = "https://hub.example.org"
MOMENT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def keys_file(app, tmp_path, monkeypatch):
    path = tmp_path / "signing_keys.json"
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(path))
    monkeypatch.setitem(app.config, "BASE_URL", BASE)
    return path


@pytest.fixture
def product(app, keys_file, time_machine):
    time_machine.move_to(MOMENT, tick=False)
    with app.test_request_context("/"):
        return sample_entries()["product"].id


def product_row(app, product_id):
    """The product as the database has it now (the pages wrote it in their own sessions)."""
    with app.app_context():
        return db.session.get(Product, product_id)


def column(app, stmt):
    with app.app_context():
        return db.session.scalars(stmt).all()


def decode_png(data):
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(results) == 1
    return results[0].text


@pytest.mark.parametrize(
    ("lang", "valid", "stars", "scheme"),
    [
        ("en", "This rating is valid", "4 stars", "OCOP (Vietnam)"),
        ("vi", "Phân hạng này còn hiệu lực", "4 sao", "OCOP (Việt Nam)"),
        ("ja", "この格付けは有効です", "4つ星", "OCOP（ベトナム）"),
    ],
)
def test_the_page_confirms_the_rating_in_the_visitors_language(
    client, product, lang, valid, stars, scheme
):
    response = client.get(f"/p/{product}?lang={lang}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert valid in page
    assert stars in page
    assert scheme in page
    assert "Chè Thái Nguyên" in page
    assert "HTX Tân Cương" in page
    # The other languages of the page are the same address with ?lang=.
    for code in ("vi", "en", "ja"):
        assert f'hreflang="{code}" href="{BASE}/p/{product}?lang={code}"' in page


def test_without_lang_the_page_speaks_the_cookie_then_the_browser(client, product):
    page = client.get(f"/p/{product}", headers={"Accept-Language": "ja"})
    assert '<html lang="ja">' in page.get_data(as_text=True)
    assert "Accept-Language" in page.headers["Vary"]
    client.set_cookie("hub_lang", "vi")
    page = client.get(f"/p/{product}", headers={"Accept-Language": "ja"})
    assert '<html lang="vi">' in page.get_data(as_text=True)


def test_an_expired_rating_says_so(app, client, product, time_machine):
    valid_until = product_row(app, product).valid_until
    time_machine.move_to(datetime.combine(valid_until, datetime.min.time(), UTC), tick=False)
    page = client.get(f"/p/{product}?lang=en").get_data(as_text=True)
    assert "This rating is valid" in page  # its last day still counts
    time_machine.move_to(
        datetime.combine(valid_until + timedelta(days=1), datetime.min.time(), UTC), tick=False
    )
    page = client.get(f"/p/{product}?lang=en").get_data(as_text=True)
    assert "This rating expired on" in page
    assert "It is no longer valid" in page
    assert "This rating is valid" not in page
    page = client.get(f"/p/{product}?lang=vi").get_data(as_text=True)
    assert "hết hiệu lực" in page


def test_a_coordinator_withdraws_and_reinstates_the_rating(app, client, product):
    sign_in(client, VN)
    entry_page = client.get(f"/en/manage/entries/{product}").get_data(as_text=True)
    assert "Withdraw the rating" in entry_page
    assert f'href="/p/{product}"' in entry_page or f'href="{BASE}/p/{product}"' in entry_page
    token = csrf_token(client, f"/en/manage/entries/{product}")
    response = client.post(
        f"/en/manage/entries/{product}/rating/withdraw", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert product_row(app, product).rating_withdrawn_on == MOMENT.date()
    page = client.get(f"/p/{product}?lang=en").get_data(as_text=True)
    withdrawn = format_date(MOMENT.date(), "long", locale="en")
    assert f"This rating was withdrawn on {withdrawn}. It is no longer valid." in page
    assert "This rating is valid" not in page
    ja_page = client.get(f"/p/{product}?lang=ja").get_data(as_text=True)
    assert "取り消されました" in ja_page
    events = column(app, select(AuditEvent.action).where(AuditEvent.object_id == str(product)))
    assert "product.withdraw_rating" in events
    revisions = column(app, select(Revision.changes).where(Revision.subject_id == str(product)))
    assert {"rating_withdrawn_on": None} in revisions
    history = client.get(f"/en/manage/entries/{product}/history").get_data(as_text=True)
    assert "Rating withdrawn on" in history

    response = client.post(
        f"/en/manage/entries/{product}/rating/reinstate", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert product_row(app, product).rating_withdrawn_on is None
    assert "This rating is valid" in client.get(f"/p/{product}?lang=en").get_data(as_text=True)


def test_only_the_countrys_coordinators_may_withdraw(app, client, product):
    # Not signed in: to the sign-in page, nothing changes.
    token = csrf_token(client, "/en/login")
    response = client.post(
        f"/en/manage/entries/{product}/rating/withdraw", data={"csrf_token": token}
    )
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    sign_in(client, TH)
    token = csrf_token(client, "/en/manage/")
    response = client.post(
        f"/en/manage/entries/{product}/rating/withdraw", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert product_row(app, product).rating_withdrawn_on is None


def test_withdrawing_needs_the_forms_csrf_token(app, client, product):
    sign_in(client, VN)
    response = client.post(f"/en/manage/entries/{product}/rating/withdraw")
    assert response.status_code == 400
    assert product_row(app, product).rating_withdrawn_on is None


def test_restoring_an_earlier_version_keeps_the_withdrawal(app, client, product):
    sign_in(client, VN)
    token = csrf_token(client, f"/en/manage/entries/{product}")
    client.post(f"/en/manage/entries/{product}/rating/withdraw", data={"csrf_token": token})
    first = column(
        app,
        select(Revision.id)
        .where(Revision.subject_id == str(product), Revision.action == "create")
        .order_by(Revision.id),
    )[0]
    client.post(f"/en/manage/entries/{product}/history/{first}/restore", data={"csrf_token": token})
    assert product_row(app, product).rating_withdrawn_on == MOMENT.date()


def test_unknown_unrated_and_unpublished_products_have_no_page(app, client, product):
    assert client.get("/p/999999").status_code == 404
    assert client.get("/p/999999/qr.svg").status_code == 404
    assert client.get("/p/999999/attestation").status_code == 404
    with app.test_request_context("/"):
        entries = sample_entries()
    assert client.get(f"/p/{entries['policy'].id}").status_code == 404
    # The sample product, back to draft: no page either.
    sign_in(client, VN)
    token = csrf_token(client, f"/en/manage/entries/{product}")
    client.post(
        f"/en/manage/entries/{product}/status", data={"csrf_token": token, "status": "draft"}
    )
    client.post("/en/logout", data={"csrf_token": token})
    assert client.get(f"/p/{product}").status_code == 404


def test_the_qr_codes_encode_the_page_address(client, product):
    png = client.get(f"/p/{product}/qr.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert "public" in png.headers["Cache-Control"]
    assert "max-age=86400" in png.headers["Cache-Control"]
    assert decode_png(png.data) == f"{BASE}/p/{product}"
    again = client.get(f"/p/{product}/qr.png", headers={"If-None-Match": png.headers["ETag"]})
    assert again.status_code == 304
    svg = client.get(f"/p/{product}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<svg") and b"<path" in svg.data
    # The same code as the PNG: as many modules wide (version 3 with its 4-module border).
    width = segno.make_qr(f"{BASE}/p/{product}", error="m").symbol_size(scale=4, border=4)[0]
    assert f'width="{width}"'.encode() in svg.data


def test_the_offline_qr_code_carries_a_verifiable_attestation(client, product):
    png = client.get(f"/p/{product}/qr.png?offline=1")
    assert "max-age=300" in png.headers["Cache-Control"]
    text = decode_png(png.data)
    address, token = text.split("#", 1)
    assert address == f"{BASE}/p/{product}"
    published = client.get("/.well-known/hub-keys.json").get_json()
    claims = jws.verify(token, published)
    assert claims["sub"] == str(product)
    assert claims["stars"] == 4


def test_the_attestation_verifies_with_the_published_keys(client, product, keys_file):
    response = client.get(f"/p/{product}/attestation")
    assert response.status_code == 200
    assert response.mimetype == "application/jose"
    token = response.get_data(as_text=True)
    published = client.get("/.well-known/hub-keys.json")
    assert published.mimetype == "application/jwk-set+json"
    jwks = published.get_json()
    (jwk,) = jwks["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")
    assert "d" not in jwk
    claims = jws.verify(token, jwks)
    rated_on = MOMENT.date() - timedelta(days=100)
    assert claims == {
        "iss": BASE,
        "sub": str(product),
        "iat": int(MOMENT.timestamp()),
        "url": f"{BASE}/p/{product}",
        "name": "Chè Thái Nguyên",
        "producer": "HTX Tân Cương",
        "country": "VN",
        "scheme": "ocop",
        "stars": 4,
        "rated_on": rated_on.isoformat(),
        "valid_until": date(rated_on.year + 3, rated_on.month, rated_on.day).isoformat(),
    }
    assert jws.rating_state(claims, MOMENT.date()) == "valid"
    # Any JOSE library verifies it too.
    header = json.loads(keys.b64url_decode(token.split(".")[0]))
    assert header == {"alg": "EdDSA", "kid": jwk["kid"], "typ": "JWT"}
    with warnings.catch_warnings():
        # RFC 9864 names the algorithm "Ed25519" and deprecates "EdDSA", which the brief and
        # today's verifiers use; joserfc says so, and verifies it.
        warnings.simplefilter("ignore", SecurityWarning)
        obj = jose_jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    assert json.loads(obj.payload) == claims
    # The key file is the owner's alone.
    assert stat.S_IMODE(os.stat(keys_file).st_mode) == 0o600


def test_a_tampered_attestation_fails(client, product):
    token = client.get(f"/p/{product}/attestation").get_data(as_text=True)
    jwks = client.get("/.well-known/hub-keys.json").get_json()
    header, payload, signature = token.split(".")
    claims = json.loads(keys.b64url_decode(payload))
    claims["stars"] = 5
    forged = keys.b64url(json.dumps(claims, separators=(",", ":")).encode())
    with pytest.raises(jws.InvalidAttestation, match="signature"):
        jws.verify(f"{header}.{forged}.{signature}", jwks)
    with pytest.raises(jws.InvalidAttestation):
        jws.verify(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), jwks)
    with pytest.raises(jws.InvalidAttestation):
        jws.verify("not.a-jws", jwks)
    # Another hub's key does not verify it.
    other = keys.KeyRing.from_json(
        {"current": "x", "keys": [{**_fresh_key_json(), "kid": "x"}]}
    ).jwks()
    other["keys"][0]["kid"] = jwks["keys"][0]["kid"]
    with pytest.raises(jws.InvalidAttestation, match="signature"):
        jws.verify(token, other)


def _fresh_key_json():
    key = keys._new_key()
    return {"kid": key.kid, "created": key.created, "x": key.x, "d": key.d}


def test_rotation_keeps_earlier_attestations_verifiable(app, client, runner, product, keys_file):
    before = client.get(f"/p/{product}/attestation").get_data(as_text=True)
    old_kid = client.get("/.well-known/hub-keys.json").get_json()["keys"][0]["kid"]
    result = runner.invoke(args=["hub", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    jwks = client.get("/.well-known/hub-keys.json").get_json()
    new_kid = jwks["keys"][0]["kid"]
    assert new_kid != old_kid and new_kid in result.output
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid]
    after = client.get(f"/p/{product}/attestation").get_data(as_text=True)
    assert json.loads(keys.b64url_decode(after.split(".")[0]))["kid"] == new_kid
    assert jws.verify(before, jwks)["sub"] == str(product)
    assert jws.verify(after, jwks)["sub"] == str(product)
    # The retired key cannot sign any more: its private half is gone from the file.
    stored = json.loads(keys_file.read_text())
    assert [k["d"] is None for k in stored["keys"]] == [False, True]
    assert stat.S_IMODE(os.stat(keys_file).st_mode) == 0o600
    listed = runner.invoke(args=["hub", "keys", "list"])
    assert new_kid in listed.output and old_kid in listed.output


def test_a_withdrawn_rating_is_attested_as_withdrawn(client, product):
    sign_in(client, VN)
    token = csrf_token(client, f"/en/manage/entries/{product}")
    client.post(f"/en/manage/entries/{product}/rating/withdraw", data={"csrf_token": token})
    attestation = client.get(f"/p/{product}/attestation").get_data(as_text=True)
    claims = jws.verify(attestation, client.get("/.well-known/hub-keys.json").get_json())
    assert claims["withdrawn_on"] == MOMENT.date().isoformat()
    assert jws.rating_state(claims, MOMENT.date()) == "withdrawn"


def test_the_label_sheet_lists_a_producers_products(client, product):
    assert client.get("/en/manage/labels").status_code == 302  # signed in only
    sign_in(client, VN)
    page = client.get("/en/manage/labels").get_data(as_text=True)
    assert "HTX Tân Cương" in page  # offered as a choice
    page = client.get("/en/manage/labels?producer=HTX+Tân+Cương").get_data(as_text=True)
    assert f'src="/p/{product}/qr.svg"' in page or f'src="{BASE}/p/{product}/qr.svg"' in page
    assert "Chè Thái Nguyên" in page
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/manage/")})
    sign_in(client, TH)
    page = client.get(f"/en/manage/labels?id={product}").get_data(as_text=True)
    assert "Chè Thái Nguyên" not in page
