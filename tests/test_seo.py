"""What search engines and link previews get (hub/seo): JSON-LD read from the pages with extruct
and expanded with pyld against a vendored schema.org context (tests/data/schemaorg-context.jsonld:
the schema.org terms the hub uses, and no ``@vocab``, so a property outside it is dropped, and a
dropped property fails the test; no network), OpenGraph and Twitter cards with the cover image,
``rel=canonical``, per-page descriptions in the page's language, feed autodiscovery,
``/robots.txt`` and the sitemap index with its files, all under ``HUB_BASE_URL``."""

import io
import json
from pathlib import Path

import extruct
import pytest
from lxml import etree
from PIL import Image
from pyld import jsonld
from sqlalchemy import select

from hub.extensions import db
from hub.media import services as media
from hub.publishing.models import Entry
from tests.support import sample_entries

BASE = "https://hub.example.org"
SCHEMA = "https://schema.org/"
CONTEXT = json.loads(
    (Path(__file__).parent / "data" / "schemaorg-context.jsonld").read_text(encoding="utf-8")
)
SITEMAP = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "xhtml": "http://www.w3.org/1999/xhtml",
}


def local_loader(url, options=None):
    """pyld's document loader: schema.org's context from the vendored copy, nothing else."""
    if url.rstrip("/") not in ("https://schema.org", "http://schema.org"):
        raise AssertionError(f"a JSON-LD context outside schema.org: {url}")
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def expand(thing):
    """``thing`` expanded against schema.org; fails on any property schema.org lacks."""
    dropped = []
    expanded = jsonld.expand(
        thing, {"documentLoader": local_loader}, on_property_dropped=dropped.append
    )
    assert dropped == [], f"not schema.org terms: {dropped}"
    assert len(expanded) == 1
    return expanded[0]


def values(node, prop):
    return node.get(SCHEMA + prop, [])


def value(node, prop):
    found = values(node, prop)
    assert len(found) == 1, (prop, found)
    item = found[0]
    return item.get("@value", item.get("@id", item))


@pytest.fixture
def hub_url(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "BASE_URL", BASE)
    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    return BASE


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def entries(app, hub_url):
    """One published entry of each kind (Viet Nam's); the product has a ready cover photo."""
    with app.test_request_context("/"):
        found = sample_entries()
        media.add(found["product"].id, "tea.jpg", jpeg(), alts={"en": "Green tea hills"})
        assert media.process_pending() == 1
        return {kind: entry.id for kind, entry in found.items()}


def page(client, url, **headers):
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, url
    html = answer.get_data(as_text=True)
    data = extruct.extract(
        html, base_url=BASE + url, syntaxes=["json-ld", "opengraph"], uniform=True
    )
    tree = etree.HTML(html)
    return html, data, tree


def things(data, kind):
    return [expand(t) for t in data["json-ld"] if t.get("@type") == kind]


def head_meta(tree, name):
    found = tree.xpath(f'//head/meta[@name="{name}" or @property="{name}"]/@content')
    return found[0] if found else None


def canonical(tree):
    return tree.xpath('//head/link[@rel="canonical"]/@href')


def test_a_product_is_a_product_with_its_rating_as_a_certification(client, entries):
    product_id = entries["product"]
    url = f"/en/products/{product_id}"
    _, data, tree = page(client, url)
    (product,) = things(data, "Product")
    assert value(product, "name") == "Chè Thái Nguyên"
    assert value(product, "url") == f"{BASE}{url}"
    # The cover photo, as an absolute address under HUB_BASE_URL.
    image = value(product, "image")
    assert image.startswith(f"{BASE}/media/") and image.endswith(".jpg")
    brand = values(product, "brand")[0]
    assert value(brand, "name") == "HTX Tân Cương"
    assert values(brand, "@type") == [] and brand["@type"] == [SCHEMA + "Brand"]
    maker = values(product, "manufacturer")[0]
    assert value(values(maker, "address")[0], "addressLocality") == "Thái Nguyên"
    # A rating is one programme's verdict: a Certification with a Rating, never an aggregate.
    certificate = values(product, "hasCertification")[0]
    assert certificate["@type"] == [SCHEMA + "Certification"]
    rating = values(certificate, "certificationRating")[0]
    assert (value(rating, "ratingValue"), value(rating, "bestRating")) == (4, 5)
    assert value(certificate, "certificationStatus") == SCHEMA + "CertificationActive"
    assert value(certificate, "url") == f"{BASE}/p/{product_id}"
    assert value(certificate, "name") == "OCOP rating: 4 stars"
    assert "OCOP" in value(values(certificate, "issuedBy")[0], "name")
    assert SCHEMA + "aggregateRating" not in product and SCHEMA + "offers" not in product
    # The preview: OpenGraph and Twitter with the same cover.
    og = data["opengraph"][0]
    assert og["og:image"] == image and og["og:url"] == f"{BASE}{url}"
    assert og["og:title"] == "Chè Thái Nguyên" and og["og:locale"] == "en_US"
    assert head_meta(tree, "og:image:alt") == "Green tea hills"
    assert head_meta(tree, "twitter:card") == "summary_large_image"
    assert head_meta(tree, "twitter:image") == image
    # Where it sits, and its feeds.
    (crumbs,) = things(data, "BreadcrumbList")
    items = values(crumbs, "itemListElement")
    assert [value(i, "item") for i in items] == [
        f"{BASE}/en/",
        f"{BASE}/en/products",
        f"{BASE}{url}",
    ]
    feeds = tree.xpath('//head/link[@rel="alternate"][@type="application/feed+json"]/@href')
    assert "/feeds/products.json?lang=en" in feeds
    assert "/feeds/countries/VN/products.json?lang=en" in feeds


def test_the_producers_location_is_a_place_with_geo_coordinates(app, client, entries):
    (product,) = things(page(client, f"/en/products/{entries['product']}")[1], "Product")
    assert SCHEMA + "location" not in values(product, "manufacturer")[0]  # none given
    with app.app_context():
        product = db.session.get(Entry, entries["product"])
        product.latitude, product.longitude = 21.5925, 105.8442
        db.session.commit()
    (product,) = things(page(client, f"/vi/products/{entries['product']}")[1], "Product")
    place = values(values(product, "manufacturer")[0], "location")[0]
    assert place["@type"] == [SCHEMA + "Place"]
    geo = values(place, "geo")[0]
    assert geo["@type"] == [SCHEMA + "GeoCoordinates"]
    assert (value(geo, "latitude"), value(geo, "longitude")) == (21.5925, 105.8442)


def test_a_withdrawn_rating_is_an_inactive_certification(app, client, entries):
    from datetime import date

    with app.app_context():
        product = db.session.get(Entry, entries["product"])
        product.rating_withdrawn_on = date(2024, 1, 1)
        db.session.commit()
    _, data, _ = page(client, f"/vi/products/{entries['product']}")
    (product,) = things(data, "Product")
    certificate = values(product, "hasCertification")[0]
    assert value(certificate, "certificationStatus") == SCHEMA + "CertificationInactive"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("scheduled", "EventScheduled"),
        ("postponed", "EventPostponed"),
        ("cancelled", "EventCancelled"),
    ],
)
def test_a_fair_is_an_exhibition_event(app, client, entries, status, expected):
    with app.app_context():
        fair = db.session.get(Entry, entries["fair"])
        fair.fair_status = status
        db.session.commit()
        starts = fair.starts_local
    url = f"/ja/fairs/{entries['fair']}"
    _, data, tree = page(client, url)
    (event,) = things(data, "ExhibitionEvent")
    assert value(event, "eventStatus") == SCHEMA + expected
    # In the venue's zone, with its offset (Viet Nam: +07:00, no daylight saving).
    assert value(event, "startDate") == starts.isoformat() + "+07:00"
    place = values(event, "location")[0]
    assert value(values(place, "address")[0], "addressLocality") == "Hạ Long"
    assert value(values(place, "address")[0], "addressCountry") == "VN"
    assert things(data, "BreadcrumbList")
    calendars = tree.xpath('//head/link[@rel="alternate"][@type="text/calendar"]/@href')
    assert "/fairs.ics?lang=ja" in calendars and "/countries/VN/fairs.ics?lang=ja" in calendars


@pytest.mark.parametrize("kind", ["policy", "experience"])
def test_policies_and_experiences_are_articles(client, entries, kind):
    collection = {"policy": "policies", "experience": "experiences"}[kind]
    url = f"/vi/{collection}/{entries[kind]}"
    _, data, tree = page(client, url)
    (article,) = things(data, "Article")
    assert value(article, "url") == f"{BASE}{url}"
    assert value(article, "headline")
    assert value(values(article, "publisher")[0], "url") == f"{BASE}/vi/"
    assert value(values(article, "about")[0], "identifier") == "VN"
    assert head_meta(tree, "og:type") == "article"
    assert head_meta(tree, "twitter:card") == "summary"  # no photo


def test_the_home_page_describes_the_hub(client, hub_url):
    _, data, tree = page(client, "/en/")
    (hub,) = things(data, "Organization")
    assert value(hub, "url") == f"{BASE}/en/" and value(hub, "name") == "OCOP Exchange Hub"
    (site,) = things(data, "WebSite")
    action = values(site, "potentialAction")[0]
    assert value(action, "target") == f"{BASE}/en/search?q={{search_term_string}}"
    feeds = tree.xpath('//head/link[@rel="alternate"][@type="application/feed+json"]/@href')
    assert len(feeds) == 4
    assert tree.xpath('//head/link[@type="text/calendar"]/@href') == ["/fairs.ics?lang=en"]


def test_a_country_page_has_its_own_description_and_breadcrumbs(client, hub_url):
    _, data, tree = page(client, "/vi/countries/TH")
    (country,) = things(data, "Country")
    assert value(country, "identifier") == "TH" and value(country, "name") == "Thái Lan"
    (crumbs,) = things(data, "BreadcrumbList")
    assert len(values(crumbs, "itemListElement")) == 3
    assert "Thái Lan" in head_meta(tree, "description")
    assert canonical(tree) == [f"{BASE}/vi/countries/TH"]
    assert "/feeds/countries/TH/products.json?lang=vi" in tree.xpath(
        '//head/link[@type="application/feed+json"]/@href'
    )


def test_every_page_has_its_own_description_in_its_language(client, entries):
    pages = [
        "/en/",
        "/en/countries",
        "/en/countries/VN",
        "/en/countries/TH",
        "/en/policies",
        "/en/products",
        "/en/products?country=TH",
        f"/en/policies/{entries['policy']}",
        f"/en/products/{entries['product']}",
        f"/en/fairs/{entries['fair']}",
    ]
    descriptions = [head_meta(page(client, url)[2], "description") for url in pages]
    assert len(set(descriptions)) == len(pages), descriptions
    assert all(0 < len(d) <= 160 for d in descriptions)
    vi = head_meta(page(client, "/vi/products")[2], "description")
    ja = head_meta(page(client, "/ja/products")[2], "description")
    assert len({vi, ja, descriptions[5]}) == 3
    # An entry's description is its summary in the page's language when it has one.
    assert head_meta(page(client, f"/ja/policies/{entries['policy']}")[2], "description") == (
        "OCOPプログラムの承認。"
    )


def test_canonical_is_the_pages_own_language_url_without_tracking(client, entries):
    _, _, tree = page(client, "/ja/products?utm_source=news&country=VN&fbclid=x&stars=3")
    assert canonical(tree) == [f"{BASE}/ja/products?country=VN&stars=3"]
    # Whatever host the request names: HUB_BASE_URL.
    _, _, tree = page(client, f"/vi/products/{entries['product']}", Host="evil.example")
    assert canonical(tree) == [f"{BASE}/vi/products/{entries['product']}"]
    assert head_meta(tree, "og:url") == f"{BASE}/vi/products/{entries['product']}"
    assert head_meta(tree, "og:image").startswith(f"{BASE}/media/")


def test_private_pages_are_not_indexed(client, hub_url):
    for url in ("/en/search?q=tea", "/en/login"):
        _, _, tree = page(client, url)
        assert head_meta(tree, "robots") == "noindex", url
    assert head_meta(page(client, "/en/products")[2], "robots") is None


def test_robots_txt(client, hub_url):
    answer = client.get("/robots.txt")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    lines = answer.get_data(as_text=True).splitlines()
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    for disallowed in ("/api/", "/vi/manage/", "/en/admin/", "/ja/login", "/en/search"):
        assert f"Disallow: {disallowed}" in lines
    assert "Disallow: /" not in lines


def _more_products(app, count):
    from hub.accounts.models import User
    from hub.publishing import services

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        ids = []
        for n in range(count):
            entry = services.create_entry(
                vn, "product", "en", {"title": f"Product {n}"}, {"product_group": "food"}
            )
            services.set_status(vn, entry.id, "published")
            ids.append(entry.id)
        db.session.commit()
        return ids


def test_the_sitemap_index_is_split_and_lists_every_page_in_every_language(
    app, client, entries, monkeypatch
):
    ids = [entries["product"], *_more_products(app, 5)]
    monkeypatch.setitem(app.config, "SITEMAP_ENTRIES", 2)
    answer = client.get("/sitemap.xml")
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    index = etree.fromstring(answer.data)
    locs = index.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP)
    assert locs[0] == f"{BASE}/sitemaps/pages.xml"
    product_files = [loc for loc in locs if "/sitemaps/products-" in loc]
    assert [f"{BASE}/sitemaps/products-{n}.xml" for n in sorted({i // 2 for i in ids})] == (
        product_files
    )
    assert all(index.xpath("//sm:sitemap/sm:lastmod/text()", namespaces=SITEMAP))
    listed = []
    for loc in product_files:
        answer = client.get(loc.removeprefix(BASE))
        assert answer.status_code == 200
        urlset = etree.fromstring(answer.data)
        for url in urlset.xpath("//sm:url", namespaces=SITEMAP):
            listed.append(url.xpath("sm:loc/text()", namespaces=SITEMAP)[0])
            assert url.xpath("sm:lastmod/text()", namespaces=SITEMAP)[0].endswith("Z")
            links = dict(
                zip(
                    url.xpath("xhtml:link/@hreflang", namespaces=SITEMAP),
                    url.xpath("xhtml:link/@href", namespaces=SITEMAP),
                    strict=True,
                )
            )
            assert set(links) == {"vi", "en", "ja", "x-default"}
            assert links["x-default"] == links["en"]
    assert sorted(listed) == sorted(
        f"{BASE}/{lang}/products/{i}" for i in ids for lang in ("vi", "en", "ja")
    )
    assert client.get("/sitemaps/products-99999.xml").status_code == 404
    pages = etree.fromstring(client.get("/sitemaps/pages.xml").data)
    urls = pages.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP)
    for path in ("/vi/", "/ja/countries", "/en/fairs", "/vi/countries/VN"):
        assert f"{BASE}{path}" in urls


def test_drafts_and_deleted_entries_are_not_in_the_sitemap(app, client, entries):
    with app.app_context():
        db.session.get(Entry, entries["policy"]).status = "draft"
        db.session.commit()
    index = client.get("/sitemap.xml").get_data(as_text=True)
    assert "/sitemaps/policies-" not in index
    run = entries["product"] // app.config["SITEMAP_ENTRIES"]  # the product's run of ids
    assert f"/sitemaps/products-{run}.xml" in index
