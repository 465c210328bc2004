"""Product pages for buyers: a trade enquiry is stored and shown to the product's country's
coordinators (and administrators) only, on every route; the honeypot, the rate limit, CSRF and
bad input; contact details public or private; the rating explained in vi, en and ja, expired
and withdrawn said."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from hub.enquiries.models import Enquiry
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Product
from hub.verification import services as verification
from tests.support import csrf_token, sign_in

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
ADMIN = "admin@hub.test"
MOMENT = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)  # the ``product`` fixture's (conftest)


def form_url(product_id, lang="en"):
    return f"/{lang}/products/{product_id}/enquiry"


def good(token, **more):
    return {
        "csrf_token": token,
        "name": "Anna Schmidt",
        "organisation": "Teehaus GmbH",
        "email": "anna@teehaus.example",
        "country": "DE",
        "quantity": "500 kg a year",
        "message": "Do you export green tea to Germany?\nPrices for 500 kg?",
        **more,
    }


def count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Enquiry))


def send(client, product_id, lang="en", **more):
    token = csrf_token(client, form_url(product_id, lang))
    return client.post(form_url(product_id, lang), data=good(token, **more))


def test_the_product_page_links_to_the_form_and_the_enquiry_is_stored(app, client, product):
    page = client.get(f"/en/products/{product}").get_data(as_text=True)
    assert f'href="/en/products/{product}/enquiry"' in page
    form = client.get(form_url(product)).get_data(as_text=True)
    # The country has no silent default: the first choice is empty and selected by no one.
    assert '<option selected value="">' in form or '<option value="">' in form
    assert (
        'value="DE" selected' not in form
        and "selected" not in form.split('name="country"')[1].split("</select>")[0]
    )
    response = send(client, product)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/en/products/{product}/enquiry/sent")
    with app.app_context():
        enquiry = db.session.scalars(select(Enquiry)).one()
        assert enquiry.country_code == "VN"
        assert enquiry.buyer_country == "DE"
        assert enquiry.status == "new"
        assert enquiry.language == "en"
        assert enquiry.message.startswith("Do you export")


def test_only_the_products_countrys_coordinators_and_administrators_see_it(app, client, product):
    send(client, product)
    with app.app_context():
        enquiry_id = db.session.scalars(select(Enquiry.id)).one()
    detail = f"/en/manage/enquiries/{enquiry_id}"
    # Signed out: the sign-in page, on every route.
    for url in ("/en/manage/enquiries/", detail):
        assert client.get(url).status_code in (302, 401)
    # Thailand's coordinator: not in the list, 404 on the detail and on changing it.
    sign_in(client, TH)
    listing = client.get("/en/manage/enquiries/").get_data(as_text=True)
    assert "Anna Schmidt" not in listing
    assert client.get(detail).status_code == 404
    token = csrf_token(client, "/en/manage/enquiries/")
    assert client.post(detail, data={"csrf_token": token, "status": "closed"}).status_code == 404
    with app.app_context():
        assert db.session.get(Enquiry, enquiry_id).status == "new"
    client.post("/en/logout", data={"csrf_token": token})
    client.delete_cookie("session")
    # Viet Nam's coordinator sees it and marks it answered.
    client2 = app.test_client()
    sign_in(client2, VN)
    assert "Anna Schmidt" in client2.get("/en/manage/enquiries/").get_data(as_text=True)
    page = client2.get(detail).get_data(as_text=True)
    assert "anna@teehaus.example" in page and "500 kg a year" in page
    token = csrf_token(client2, detail)
    response = client2.post(detail, data={"csrf_token": token, "status": "answered"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Enquiry, enquiry_id).status == "answered"
    assert "Anna Schmidt" in client2.get("/en/manage/enquiries/?status=answered").get_data(
        as_text=True
    )
    assert "Anna Schmidt" not in client2.get("/en/manage/enquiries/?status=new").get_data(
        as_text=True
    )
    # An administrator sees every country's.
    client3 = app.test_client()
    sign_in(client3, ADMIN)
    assert client3.get(detail).status_code == 200


def test_the_list_is_paged_by_keyset(app, client, product, monkeypatch):
    from hub.enquiries import services as enquiry_services

    monkeypatch.setattr(enquiry_services, "PAGE_SIZE", 2)
    with app.test_request_context("/"):
        found = db.session.get(Product, product)
        for n in range(3):
            enquiry_services.submit(
                found,
                {"name": f"Buyer {n}", "organisation": "", "email": f"b{n}@x.example",
                 "buyer_country": "JP", "quantity": "", "message": "Hello"},
                "ja",
            )  # fmt: skip
    sign_in(client, VN)
    first = client.get("/en/manage/enquiries/").get_data(as_text=True)
    assert "Buyer 2" in first and "Buyer 1" in first and "Buyer 0" not in first
    cursor = first.split("after=")[1].split('"')[0]
    second = client.get(f"/en/manage/enquiries/?after={cursor}").get_data(as_text=True)
    assert "Buyer 0" in second and "Buyer 2" not in second
    assert client.get("/en/manage/enquiries/?after=nonsense").status_code == 200


def test_the_honeypot_keeps_nothing(app, client, product):
    response = send(client, product, website="http://spam.example")
    assert response.status_code == 302  # thanked like a person
    assert count(app) == 0


def test_without_csrf_the_enquiry_is_refused(app, client, product):
    data = good("")
    del data["csrf_token"]
    assert client.post(form_url(product), data=data).status_code == 400
    assert client.post(form_url(product), data=good("forged")).status_code == 400
    assert count(app) == 0


def test_the_rate_limit(app, client, product, time_machine, monkeypatch):
    monkeypatch.setitem(app.config, "ENQUIRY_RATE_LIMIT", "2 per 10 minutes")
    assert send(client, product).status_code == 302
    assert send(client, product).status_code == 302
    response = send(client, product)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert count(app) == 2
    time_machine.move_to(datetime(2025, 6, 1, 10, 11, tzinfo=UTC), tick=False)
    assert send(client, product).status_code == 302


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("email", "not an address"),
        ("email", "a@b"),
        ("country", ""),
        ("country", "XX"),
        ("country", "Germany"),
        ("message", ""),
        ("message", "x" * 5001),
        ("name", "a\x00b"),
        ("quantity", "q" * 201),
        ("organisation", "o" * 201),
    ],
)
def test_bad_input_is_a_400_not_a_500(app, client, product, field, value):
    response = send(client, product, **{field: value})
    assert response.status_code == 400
    assert count(app) == 0


def test_a_lone_surrogate_is_no_500(app, client, product):
    from hub.enquiries import services as enquiry_services

    token = csrf_token(client, form_url(product))
    # As bytes of the form (not UTF-8): read as U+FFFD, never stored as a surrogate.
    body = "&".join(f"{k}={v}" for k, v in good(token, message="x").items() if k != "message")
    response = client.post(
        form_url(product),
        data=(body + "&message=a%ED%A0%80b").encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (302, 400)
    with app.app_context():
        for message in db.session.scalars(select(Enquiry.message)):
            message.encode("utf-8")
    # As a string, as a caller of the service could pass one: refused per field.
    with app.test_request_context("/en/"):
        _values, errors = enquiry_services.check(good("", message="a\ud800b", name="\udfff"))
    assert set(errors) == {"message", "name"}


def test_wrong_types_and_unknown_products(app, client, product):
    token = csrf_token(client, form_url(product))
    # A JSON body is no form; a file where text is expected; a huge body.
    assert client.post(form_url(product), json=good(token)).status_code == 400
    import io

    data = good(token)
    data["message"] = (io.BytesIO(b"hello"), "m.txt")
    assert client.post(form_url(product), data=data).status_code == 400
    assert client.post(
        form_url(product), data=good(token, message="m" * 5_000_000)
    ).status_code in (400, 413)
    assert client.get("/en/products/999999/enquiry").status_code == 404
    assert client.post("/en/products/999999/enquiry", data=good(token)).status_code in (400, 404)
    assert count(app) == 0


def test_drafts_take_no_enquiry(app, client, product):
    with app.test_request_context("/"):
        from hub.accounts.models import User

        vn = db.session.scalar(select(User).where(User.email == VN))
        services.set_status(vn, product, "draft")
    assert client.get(form_url(product)).status_code == 404


def _set(app, product_id, **values):
    from hub.accounts.models import User

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        entry = db.session.get(Product, product_id)
        fields = {
            name: getattr(entry, name)
            for name in ("producer_name", "producer_type", "locality", "product_group",
                         "rating_scheme", "stars", "rated_on", "valid_until")
        }  # fmt: skip
        fields.update(values)
        services.update_fields(vn, product_id, fields)


def test_contact_details_show_only_when_public(app, client, product):
    contact = {
        "contact_email": "htx@tancuong.example",
        "contact_phone": "+84 208 3855 555",
        "contact_website": "https://tancuong.example",
        "where_to_buy": [{"name": "Tân Cương shop", "url": "https://shop.example/tra"}],
        "certificates": [{"name": "VietGAP", "issuer": "Quacert", "issued_on": "2024-03-01"}],
    }
    _set(app, product, **contact, contact_public=False)
    page = client.get(f"/en/products/{product}").get_data(as_text=True)
    assert "htx@tancuong.example" not in page and "3855" not in page
    assert "Tân Cương shop" in page and "VietGAP" in page and "Quacert" in page
    assert "March 1, 2024" in page
    record = client.get(f"/api/v1/products/{product}").get_json()
    assert "htx@tancuong.example" not in str(record)
    _set(app, product, **contact, contact_public=True)
    page = client.get(f"/en/products/{product}").get_data(as_text=True)
    assert 'href="mailto:htx@tancuong.example"' in page
    assert "+84 208 3855 555" in page and "https://tancuong.example" in page
    assert "htx@tancuong.example" in str(client.get(f"/api/v1/products/{product}").get_json())


def test_bad_shops_and_certificates_are_refused(app, product):
    from hub.accounts.models import User

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        for bad in (
            {"where_to_buy": [{"url": "javascript:alert(1)"}]},
            {"where_to_buy": "a shop"},
            {"certificates": [{"issuer": "no name"}]},
            {"certificates": [{"name": "x", "issued_on": "yesterday"}]},
            {"contact_email": "nope"},
            {"contact_phone": "call me"},
        ):
            with pytest.raises(services.EntryInvalid):
                _set(app, product, **bad)
        assert vn is not None


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "Rated 4 stars under"),
        ("vi", "4 sao"),
        ("ja", "4つ星"),
    ],
)
def test_the_rating_is_explained_in_the_readers_language(app, client, product, lang, sentence):
    with app.test_request_context(f"/{lang}/"):
        found = db.session.get(Product, product)
        rated = found.rated_on
        until = found.valid_until
        from flask_babel import format_date

    page = client.get(f"/{lang}/products/{product}").get_data(as_text=True)
    assert sentence in page
    from babel.dates import format_date as babel_format

    assert babel_format(rated, "long", locale=lang) in page
    assert babel_format(until, "long", locale=lang) in page
    assert format_date  # imported for the request's locale above


@pytest.mark.parametrize(
    ("lang", "expired", "withdrawn"),
    [
        ("en", "This rating expired on", "This rating was withdrawn on"),
        ("vi", "hết hiệu lực", "thu hồi"),
        ("ja", "有効期限が切れ", "取り消され"),
    ],
)
def test_expired_and_withdrawn_ratings_are_said(
    app, client, product, lang, expired, withdrawn, time_machine
):
    with app.app_context():
        until = db.session.get(Product, product).valid_until
    time_machine.move_to(
        datetime.combine(until, datetime.min.time(), UTC).replace(year=until.year + 1), tick=False
    )
    page = client.get(f"/{lang}/products/{product}").get_data(as_text=True)
    assert expired in page
    time_machine.move_to(MOMENT, tick=False)
    from hub.accounts.models import User

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        verification.withdraw_rating(vn, product)
    page = client.get(f"/{lang}/products/{product}").get_data(as_text=True)
    assert withdrawn in page
    assert date(2025, 6, 1)  # the day it was withdrawn (the frozen clock)
