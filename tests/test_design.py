"""The hub's design identity (issue 20 §1): a colour system whose text colours pass WCAG AA on
their grounds, the Noto families first in the type stacks, a logo mark in SVG in the header and
as the favicon, and a home page that shows the network's products and people."""

import re
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.publishing.demo import seed_demo
from hub.publishing.models import Entry
from tests.test_media_display import page
from tests.test_pages import parse, text_of

STATIC = Path(__file__).resolve().parent.parent / "hub" / "static"
CSS = (STATIC / "hub.css").read_text(encoding="utf-8")

# (text, ground): every pairing of the colour system the pages use.
TEXT_ON_GROUND = [
    ("ink", "paper"),
    ("ink", "band"),
    ("muted", "paper"),
    ("muted", "band"),
    ("link", "paper"),
    ("link", "band"),
    ("clay", "paper"),
    ("error", "paper"),
    ("brand-ink", "brand"),
    ("brand-ink", "brand-deep"),
    ("ink", "accent"),  # the search button
    ("brand-deep", "band"),  # the headings on the hero
    ("brand-deep", "paper"),
    ("ink", "brand-soft"),
]


def colour_system():
    """The custom properties of ``:root`` in hub.css: ``{name: "#rrggbb"}``."""
    root = re.search(r":root \{(.*?)\n\}", CSS, re.S).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\b", root))


def luminance(hex_colour):
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(("text", "ground"), TEXT_ON_GROUND, ids="-on-".join)
def test_the_colour_system_passes_wcag_aa(text, ground):
    colours = colour_system()
    assert contrast(colours[text], colours[ground]) >= 4.5, (colours[text], colours[ground])


def test_the_type_names_the_noto_families_first_and_no_web_font():
    root = re.search(r":root \{(.*?)\n\}", CSS, re.S).group(1)
    stacks = dict(re.findall(r"--(sans|serif):\s*([^;]+);", root))
    assert stacks["sans"].startswith('"Noto Sans", "Noto Sans JP"')
    assert stacks["serif"].startswith('"Noto Serif", "Noto Serif JP"')
    japanese = re.search(r":lang\(ja\) \{(.*?)\n\}", CSS, re.S).group(1)
    assert '--sans: "Noto Sans JP"' in japanese and '--serif: "Noto Serif JP"' in japanese
    assert "@font-face" not in CSS and "@import" not in CSS and "url(http" not in CSS


def test_the_logo_mark_is_svg_in_the_header_and_the_favicon(client):
    mark = ElementTree.parse(STATIC / "logo.svg").getroot()
    assert mark.tag == "{http://www.w3.org/2000/svg}svg" and mark.get("viewBox") == "0 0 64 64"
    tree = parse(page(client, "/vi/"))
    icons = [link.get("href") for link in tree.iter("link") if link.get("rel") == "icon"]
    assert icons == ["/static/logo.svg"]
    brand = tree.find(".//header//a[@class='brand']")
    assert brand.find("img").get("src") == "/static/logo.svg"
    assert text_of(brand) == "Cổng trao đổi OCOP"  # the link's name: the mark is decoration
    with client.get("/static/logo.svg") as served:
        assert served.mimetype == "image/svg+xml"


@pytest.fixture
def demo(app, tmp_path, monkeypatch, time_machine):
    """The demo's entries and photos, on a day between its past and its upcoming fair."""
    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    time_machine.move_to(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False)
    with app.test_request_context("/"):
        seed_demo()
        return {
            entry.partner_id: entry.id
            for entry in db.session.scalars(select(Entry).where(Entry.partner_id.isnot(None)))
        }


@pytest.mark.parametrize(
    ("lang", "featured", "fairs", "experiences"),
    [
        ("vi", "Sản phẩm tiêu biểu", "Hội chợ sắp diễn ra", "Kinh nghiệm mới nhất"),
        ("en", "Featured products", "Upcoming fairs", "Newest experiences"),
        ("ja", "注目の産品", "今後の見本市", "最新の取組事例"),
    ],
)
def test_home_shows_the_networks_products_and_people(
    client, demo, lang, featured, fairs, experiences
):
    tree = parse(page(client, f"/{lang}/"))
    headings = [text_of(h) for h in tree.iter("h2")]
    assert headings[:3] == [featured, fairs, experiences]
    assert "map" in [h.get("id") for h in tree.iter("h2")]  # the map stays
    products = tree.find(".//section[@aria-labelledby='featured']")
    cards = products.findall(".//article")
    assert 1 <= len(cards) <= 4
    tea = f"/{lang}/products/{demo['demo:vn-thai-nguyen-tea']}"
    links = [card.find(".//h3/a").get("href") for card in cards]
    assert tea in links
    # Those with a photo come first, each with its size set (no layout shift) and lazy.
    photos = [card.find(".//img") for card in cards]
    with_photo = [img is not None for img in photos]
    assert with_photo[0] and with_photo == sorted(with_photo, reverse=True)
    for img in (img for img in photos if img is not None):
        assert img.get("width") and img.get("height") and img.get("loading") == "lazy"
    upcoming = tree.find(".//section[@aria-labelledby='upcoming-fairs']")
    fair_links = [a.get("href") for a in upcoming.iterfind(".//h3/a")]
    assert fair_links and all(f"/{lang}/fairs/" in href for href in fair_links)
    assert f"/{lang}/fairs/{demo['demo:vn-ocop-fair-2019']}" not in fair_links  # past
    newest = tree.find(".//section[@aria-labelledby='newest-experiences']")
    assert [a.get("href") for a in newest.iterfind(".//h3/a")]
