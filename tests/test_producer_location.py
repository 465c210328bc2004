"""Product pages for buyers (issue 20, §2): the producer's location (latitude and longitude,
both or neither) from the coordinator's form, the API, a CSV list and another hub, shown on the
product's page as a map of its country with a marker and a link to OpenStreetMap once the
product is published; and the names of shops and certificates given per language, shown in the
reader's language or, marked, in another."""

import re

import pytest
from lxml import etree
from sqlalchemy import select

from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Product
from hub.registry.worldmap import point_map
from tests.support import csrf_token, sample_entries, sign_in

VN = "coordinator.vn@hub.test"
THAI_NGUYEN = {"latitude": 21.5925, "longitude": 105.8442}
OSM = "https://www.openstreetmap.org/?mlat=21.5925&amp;mlon=105.8442#map=12/21.5925/105.8442"


@pytest.fixture
def product(app):
    with app.test_request_context("/"):
        return sample_entries()["product"].id


def _fields(product_id, **values):
    entry = db.session.get(Product, product_id)
    fields = {
        name: getattr(entry, name)
        for name in ("producer_name", "producer_type", "locality", "product_group",
                     "rating_scheme", "stars", "rated_on", "valid_until")
    }  # fmt: skip
    fields.update(values)
    return fields


def _set(app, product_id, **values):
    from hub.accounts.models import User

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        services.update_fields(vn, product_id, _fields(product_id, **values))


def _refusal(app, product_id, lang="en", **values):
    from flask_babel import force_locale

    from hub.accounts.models import User

    with app.test_request_context("/"), force_locale(lang):
        vn = db.session.scalar(select(User).where(User.email == VN))
        with pytest.raises(services.EntryInvalid) as refused:
            services.update_fields(vn, product_id, _fields(product_id, **values))
        return refused.value.errors


def _page(client, product_id, lang="en"):
    answer = client.get(f"/{lang}/products/{product_id}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_the_page_shows_the_producer_on_a_map_of_its_country(app, client, product):
    assert "producer-map" not in _page(client, product)  # no coordinates, no map
    _set(app, product, **THAI_NGUYEN)
    html = _page(client, product)
    tree = etree.HTML(html)
    (svg,) = tree.xpath('//svg[@class="producer-map"]')
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Producer's location: Thái Nguyên"
    # The marker where the world map's projection puts the point on Viet Nam's map.
    expected = point_map("VN", THAI_NGUYEN["longitude"], THAI_NGUYEN["latitude"])
    (marker,) = svg.xpath('./circle[@class="map-marker"]')
    assert (float(marker.get("cx")), float(marker.get("cy"))) == (expected.x, expected.y)
    assert svg.xpath('./path[@class="map-land"]/@d') == [expected.shape]
    assert 0 < expected.x < expected.width and 0 < expected.y < expected.height
    assert f'href="{OSM}"' in html
    assert "<script" not in html.split('class="producer-map"')[1].split("</svg>")[0]
    # In the reader's language.
    vi = etree.HTML(_page(client, product, "vi"))
    assert vi.xpath('//svg[@class="producer-map"]/@aria-label') == [
        "Vị trí của chủ thể sản xuất: Thái Nguyên"
    ]
    ja = etree.HTML(_page(client, product, "ja"))
    assert ja.xpath('//svg[@class="producer-map"]/@aria-label') == ["生産者の所在地：Thái Nguyên"]


def test_the_map_shows_only_once_the_product_is_published(app, client, product):
    from hub.accounts.models import User
    from hub.publishing.product_page import producer_map

    _set(app, product, **THAI_NGUYEN)
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        assert producer_map(db.session.get(Product, product)) is not None
        services.set_status(vn, product, "draft")
        assert producer_map(db.session.get(Product, product)) is None
    assert client.get(f"/en/products/{product}").status_code == 404
    sign_in(client, VN)
    html = client.get(f"/en/manage/entries/{product}").get_data(as_text=True)
    assert "producer-map" not in html and "openstreetmap.org/?" not in html


def test_a_point_outside_the_country_is_still_framed():
    # Singapore has no shape at this scale: the marker alone, in the middle.
    alone = point_map("SG", 103.8, 1.35)
    assert alone.shape == "" and (alone.x, alone.y) == (alone.width / 2, alone.height / 2)
    far = point_map("VN", 0.0, 0.0)  # a wrong point: both stay in the frame
    assert 0 <= far.x <= far.width and 0 <= far.y <= far.height
    # France's overseas parts are left out around a point in Paris.
    paris = point_map("FR", 2.35, 48.85)
    assert paris.width > 150 and paris.height > 150


@pytest.mark.parametrize(
    ("values", "field", "messages"),
    [
        (
            {"latitude": 21.5},
            "longitude",
            {
                "en": "Give the latitude and the longitude together, or leave both empty.",
                "vi": "Hãy nhập cả vĩ độ và kinh độ, hoặc để trống cả hai.",
                "ja": "緯度と経度は両方を入力するか、両方とも空欄にしてください。",
            },
        ),
        (
            {"longitude": 105.8},
            "latitude",
            {"en": "Give the latitude and the longitude together, or leave both empty."},
        ),
        (
            {"latitude": 91, "longitude": 105},
            "latitude",
            {
                "en": "Enter a number of degrees between -90 and 90.",
                "vi": "Hãy nhập số độ trong khoảng từ -90 đến 90.",
                "ja": "-90 から 90 までの度数を入力してください。",
            },
        ),
        (
            {"latitude": 21, "longitude": -180.5},
            "longitude",
            {"en": "Enter a number of degrees between -180 and 180."},
        ),
        ({"latitude": True, "longitude": 1}, "latitude", {"en": "Enter a number of degrees, such as 21.59."}),
        ({"latitude": "north", "longitude": 1}, "latitude", {"en": "Enter a number of degrees, such as 21.59."}),
        ({"latitude": float("nan"), "longitude": 1}, "latitude", {"en": "Enter a number of degrees, such as 21.59."}),
        ({"latitude": [1], "longitude": 1}, "latitude", {"en": "Enter a number of degrees, such as 21.59."}),
        ({"latitude": 2**1100, "longitude": 1}, "latitude", {"en": "Enter a number of degrees, such as 21.59."}),
        ({"latitude": 1, "longitude": "1e400"}, "longitude", {"en": "Enter a number of degrees, such as 21.59."}),
    ],
)  # fmt: skip
def test_bad_coordinates_are_refused_with_a_clear_message(app, product, values, field, messages):
    for lang, message in messages.items():
        assert _refusal(app, product, lang, **values)[field] == message
    with app.app_context():
        entry = db.session.get(Product, product)
        assert (entry.latitude, entry.longitude) == (None, None)


def test_the_bounds_and_a_decimal_comma_are_taken(app, product):
    _set(app, product, latitude="-90", longitude="180,0")
    with app.app_context():
        entry = db.session.get(Product, product)
        assert (entry.latitude, entry.longitude) == (-90.0, 180.0)
    _set(app, product, latitude="", longitude=None)
    with app.app_context():
        entry = db.session.get(Product, product)
        assert (entry.latitude, entry.longitude) == (None, None)


def test_the_coordinator_gives_the_location_and_labels_per_language_in_the_form(
    app, client, product
):
    assert sign_in(client, VN).status_code == 302
    url = f"/en/manage/entries/{product}"
    form = client.get(url).get_data(as_text=True)
    assert 'name="latitude"' in form and 'name="longitude"' in form
    data = {
        "csrf_token": csrf_token(client, url),
        "producer_name": "HTX Tân Cương",
        "producer_type": "cooperative",
        "locality": "Thái Nguyên",
        "latitude": "21.5925",
        "longitude": "",
        "product_group": "beverages",
        "where_to_buy": "vi: Cửa hàng trực tuyến; en: Online shop | https://shop.example/tra\n"
        "HTX: cửa hàng | | Tân Cương",
        "certificates": "vi: Chứng nhận hữu cơ; ja: 有機認証 | Quacert | 2024-03-01",
    }
    refused = client.post(url, data=data)
    assert refused.status_code == 422
    assert "Give the latitude and the longitude together" in refused.get_data(as_text=True)
    data["longitude"] = "105.8442"
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        entry = db.session.get(Product, product)
        assert (entry.latitude, entry.longitude) == (21.5925, 105.8442)
        assert entry.where_to_buy == [
            {"name": {"vi": "Cửa hàng trực tuyến", "en": "Online shop"},
             "url": "https://shop.example/tra"},
            # Not one of the hub's languages: a name as it is.
            {"name": "HTX: cửa hàng", "address": "Tân Cương"},
        ]  # fmt: skip
        assert entry.certificates == [
            {"name": {"vi": "Chứng nhận hữu cơ", "ja": "有機認証"}, "issuer": "Quacert",
             "issued_on": "2024-03-01"},
        ]  # fmt: skip
    # Written back the same way.
    form = client.get(url).get_data(as_text=True)
    assert "vi: Cửa hàng trực tuyến; en: Online shop | https://shop.example/tra" in form
    assert 'value="21.5925"' in form


def test_labels_are_shown_in_the_readers_language_else_marked(app, client, product):
    _set(
        app,
        product,
        where_to_buy=[
            {"name": {"vi": "Cửa hàng trực tuyến", "en": "Online shop"}, "url": "https://s.example/"},
            {"name": "HTX Tân Cương", "address": "Tân Cương"},
        ],
        certificates=[{"name": {"en": "Organic certificate"}, "issuer": "Quacert"}],
    )  # fmt: skip
    en = _page(client, product, "en")
    assert '<a href="https://s.example/" rel="external noopener nofollow">Online shop</a>' in en
    assert "Cửa hàng trực tuyến" not in en
    # A proper name stays as written, in the entry's language (vi).
    assert '<span lang="vi">HTX Tân Cương</span>' in en
    assert "Organic certificate</a>" in en or ">Organic certificate" in en
    vi = _page(client, product, "vi")
    assert ">Cửa hàng trực tuyến</a>" in vi
    # No Vietnamese name of the certificate: the English one, marked as such.
    assert re.search(
        r'<span lang="en">Organic certificate</span> <span class="muted fallback-marker">'
        r"\(bằng [Tt]iếng Anh\)</span>",
        vi,
    )
    ja = _page(client, product, "ja")
    # No Japanese name of the shop: the source language's (vi), marked.
    assert re.search(
        r'<span lang="vi">Cửa hàng trực tuyến</span> <span class="muted fallback-marker">', ja
    )


@pytest.mark.parametrize(
    "name",
    [{"fr": "Boutique"}, {"vi": 3}, ["Cửa hàng"], 7, {"vi": "x" * 201}, {"vi": "a\x00b"}],
)
def test_bad_labels_are_refused(app, product, name):
    errors = _refusal(app, product, where_to_buy=[{"name": name, "url": "https://s.example/"}])
    assert set(errors) == {"where_to_buy"}
    errors = _refusal(app, product, certificates=[{"name": name}])
    assert set(errors) == {"certificates"}


def test_the_api_takes_and_gives_the_location_and_labels(app, client, tokens):
    record = {
        "source_language": "vi",
        "status": "published",
        "translations": {"vi": {"title": "Chè Shan tuyết"}},
        "product_group": "beverages",
        "locality": "Hà Giang",
        "latitude": 22.82,
        "longitude": 104.98,
        "where_to_buy": [{"name": {"vi": "Cửa hàng", "ja": "店舗"}, "address": "Hà Giang"}],
        "certificates": [{"name": "VietGAP"}],
    }
    created = client.post("/api/v1/products", json=record, headers=tokens["VN"])
    assert created.status_code == 201, created.get_json()
    entry_id = created.get_json()["id"]
    full = client.get(f"/api/v1/products/{entry_id}?lang=all").get_json()["record"]
    for key in ("latitude", "longitude", "where_to_buy", "certificates"):
        assert full[key] == record[key]
    view = client.get(f"/api/v1/products/{entry_id}?lang=en").get_json()
    assert (view["latitude"], view["longitude"]) == (22.82, 104.98)
    # One without the other, out of range, of the wrong type: 422 per field, in the caller's
    # language, and nothing changed.
    for patch, field, message in (
        ({"latitude": None}, "latitude", "緯度と経度は両方を入力するか、両方とも空欄にしてください。"),
        ({"longitude": 200}, "longitude", "-180 から 180 までの度数を入力してください。"),
        ({"latitude": "north"}, "latitude", None),
        ({"latitude": True}, "latitude", None),
        ({"where_to_buy": [{"name": {"de": "Laden"}}]}, "where_to_buy", None),
    ):  # fmt: skip
        answer = client.patch(
            f"/api/v1/products/{entry_id}",
            json=patch,
            headers={**tokens["VN"], "Accept-Language": "ja"},
        )
        assert answer.status_code == 422, (patch, answer.get_json())
        details = answer.get_json()["error"]["details"]
        assert field in details, details
        if message:
            assert details[field] == [message]
    answer = client.patch(
        f"/api/v1/products/{entry_id}",
        data=b'{"latitude": 1, "longitude": 2, "locality": "a\\ud800b"}',
        content_type="application/json",
        headers=tokens["VN"],
    )
    assert answer.status_code == 422
    again = client.get(f"/api/v1/products/{entry_id}?lang=all").get_json()["record"]
    assert (again["latitude"], again["longitude"]) == (22.82, 104.98)
    assert client.patch(
        f"/api/v1/products/{entry_id}",
        json={"latitude": None, "longitude": None},
        headers=tokens["VN"],
    ).status_code == 200  # fmt: skip
    # A record without a location says nothing of it: as records read before the fields were.
    cleared = client.get(f"/api/v1/products/{entry_id}?lang=all").get_json()["record"]
    assert "latitude" not in cleared and "longitude" not in cleared
    view = client.get(f"/api/v1/products/{entry_id}?lang=en").get_json()
    assert (view["latitude"], view["longitude"]) == (None, None)


def test_the_openapi_and_json_schema_document_them(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    record = spec["components"]["schemas"]["ProductRecord"]["properties"]
    assert record["latitude"]["maximum"] == 90 and record["longitude"]["minimum"] == -180
