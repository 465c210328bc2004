"""Photos and documents on the public pages (hub/media/display.py, hub/templates/_media.html):
``<picture>`` with WebP and JPEG ``srcset``, width and height, the cover eager and the others
lazy, alt texts in the page's language with a visible fallback, a lightbox of anchors, PDFs as
previews; only ready media; covers on lists in one query; the demo's photos."""

import io
import json
import re

import pytest
from PIL import Image
from sqlalchemy import event, select

from hub.extensions import db
from hub.media import services
from hub.media.models import Media
from hub.publishing.demo import PHOTOS, seed_demo
from hub.publishing.models import Entry
from tests.support import sample_entries
from tests.test_cache import Statements


def jpeg(width=900, height=600, colour=(200, 120, 40)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def pdf():
    out = io.BytesIO()
    Image.new("RGB", (300, 420), (255, 255, 255)).save(out, "PDF")
    return out.getvalue()


@pytest.fixture
def local_media(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)


@pytest.fixture
def product(app, local_media):
    """Viet Nam's product with a cover (vi and en alt texts, no ja), a second photo, a PDF, all
    ready, and a photo still pending: ``(entry id, {name: media id})``."""
    return make_product(app)


@pytest.fixture
def stored_product(app, media_storage):
    """The same product, its media in local storage, then in S3 (moto's server): for the
    tests where the storage matters."""
    return make_product(app)


def make_product(app):
    with app.test_request_context("/"):
        entry_id = sample_entries()["product"].id
        ids = {
            "cover": services.add(
                entry_id, "tea.jpg", jpeg(), alts={"vi": "Đồi chè xanh", "en": "Green tea hills"}
            ).id,
            "second": services.add(entry_id, "cup.jpg", jpeg(colour=(20, 90, 40))).id,
            "plan": services.add(entry_id, "plan.pdf", pdf(), alts={"en": "Floor plan"}).id,
        }
        assert services.process_pending() == 3
        ids["pending"] = services.add(entry_id, "later.jpg", jpeg(colour=(1, 2, 3))).id
        return entry_id, ids


def page(client, url):
    answer = client.get(url)
    assert answer.status_code == 200, url
    return answer.get_data(as_text=True)


def img_tag(html, media_id):
    """The gallery's ``<img>`` of the photo that opens ``#photo-<id>``."""
    match = re.search(
        rf'<a class="gallery-open" id="photo-{media_id}-open".*?(<img [^>]+>)', html, re.S
    )
    assert match, f"no gallery photo {media_id}"
    return match.group(1)


@pytest.mark.parametrize(
    ("lang", "alt", "marker"),
    [
        ("vi", "Đồi chè xanh", None),
        ("en", "Green tea hills", None),
        ("ja", "Đồi chè xanh", "（ベトナム語）"),  # no ja text: the source language's, marked
    ],
)
def test_an_entry_page_shows_its_photos_well(client, product, lang, alt, marker):
    entry_id, ids = product
    html = page(client, f"/{lang}/products/{entry_id}")
    cover = img_tag(html, ids["cover"])
    assert f'alt="{alt}"' in cover
    assert re.search(r'width="\d+" height="\d+"', cover)
    assert 'srcset="http' in cover and " 320w" in cover and " 800w" in cover
    assert 'sizes="' in cover
    assert 'fetchpriority="high"' in cover and 'loading="lazy"' not in cover  # above the fold
    assert '<source type="image/webp" srcset="' in html
    second = img_tag(html, ids["second"])
    assert 'loading="lazy"' in second and 'decoding="async"' in second
    assert 'alt=""' in second  # no alternative text given: an empty one, not a made-up one
    # The cover comes first.
    assert html.index(f'id="photo-{ids["cover"]}-open"') < html.index(
        f'id="photo-{ids["second"]}-open"'
    )
    if marker:
        assert 'lang="vi"' in cover
        gallery = html[
            html.index('class="gallery"') : html.index("</section>", html.index('class="gallery"'))
        ]
        assert "fallback-marker" in gallery and marker in gallery
    else:
        assert "fallback-marker" not in html[html.index('class="gallery"') :].split("</section>")[0]


def test_the_lightbox_is_anchors_only(client, product):
    entry_id, ids = product
    html = page(client, f"/en/products/{entry_id}")
    cover, second = ids["cover"], ids["second"]
    assert f'href="#photo-{cover}"' in html
    assert f'<div class="lightbox" id="photo-{cover}"' in html
    assert f'<a class="lightbox-close" href="#photo-{cover}-open">Close the photo</a>' in html
    assert f'<a href="#photo-{second}" rel="next">Next photo</a>' in html
    assert f'<a href="#photo-{cover}" rel="prev">Previous photo</a>' in html
    assert "Photo 1 of 2" in html and "Enlarge photo 2 of 2" in html
    assert "<script" not in html.split('class="gallery"')[1].split("</article>")[0]


def test_a_pdf_is_a_preview_linking_to_it(client, stored_product):
    entry_id, _ids = stored_product
    html = page(client, f"/vi/products/{entry_id}")
    documents = html[html.index('class="documents"') :]
    documents = documents[: documents.index("</section>")]
    assert "Tài liệu" in documents
    assert re.search(
        r'<a href="http://localhost/media/v/[0-9a-f]{64}\.pdf" type="application/pdf">', documents
    )
    assert "PDF, " in documents and " kB" in documents
    assert 'class="document-preview"' in documents and 'alt=""' in documents
    # The alt text, in English only, is the link's text, marked as English on a Vietnamese page.
    assert '<span lang="en">Floor plan</span>' in documents
    assert "fallback-marker" in documents


def test_the_pages_photos_are_the_hubs_urls_whatever_the_storage(
    client, stored_product, media_storage
):
    """``srcset`` and the lightbox name the hub's /media/<key>: it sends the file from local
    storage, and redirects to a presigned URL from S3 with no public URL."""
    from hub.media.storage import LocalStorage

    entry_id, ids = stored_product
    html = page(client, f"/en/products/{entry_id}")
    cover = img_tag(html, ids["cover"])
    urls = re.findall(r"(http://localhost/media/v/[0-9a-f]{64}\.jpg) \d+w", cover)
    assert urls, cover
    answer = client.get(urls[0][len("http://localhost") :])
    status, location = answer.status_code, answer.headers.get("Location")
    answer.close()
    if isinstance(media_storage, LocalStorage):
        assert status == 200
    else:
        assert status == 302 and not location.startswith("http://localhost/")
    assert "amazonaws" not in html and "X-Amz" not in html  # no presigned URL in a page


def test_pending_media_are_not_shown(app, client, product):
    entry_id, ids = product
    html = page(client, f"/en/products/{entry_id}")
    assert f"photo-{ids['pending']}" not in html
    assert "Photo 1 of 2" in html  # two photos shown: the pending third is not counted
    with app.test_request_context("/"):
        assert db.session.get(Media, ids["pending"]).status == "pending"


@pytest.mark.usefixtures("product")
def test_lists_show_covers_small_and_lazy(client):
    for url in ("/en/products", "/ja/search?q=Chè", "/vi/countries/VN"):
        html = page(client, url)
        card = html[html.index('class="card-cover"') :]
        img = re.search(r"<img [^>]+>", card).group(0)
        assert 'loading="lazy"' in img and 'width="320"' in img and 'height="' in img, url
        assert 'srcset="' in img and 'sizes="' in img, url


def test_covers_of_a_list_are_one_query(app, client, local_media):
    """The statements a product list runs do not grow with the products that have photos."""
    with app.test_request_context("/"):
        vn = sample_entries()["product"]
        counts = []
        for n in range(3):
            media = services.add(vn.id if n == 0 else _another_product(n), f"{n}.jpg", jpeg())
            services.process_pending()
            assert db.session.get(Media, media.id).status == "ready"
            app.extensions["hub.answers"].clear()
            media_queries = []

            def watch(_conn, _cursor, statement, *_args, seen=media_queries):
                if "FROM media" in statement:
                    seen.append(statement)

            engine = db.binding(app).engine
            event.listen(engine, "before_cursor_execute", watch)
            try:
                with Statements(app) as statements:
                    html = page(client, "/en/products")
            finally:
                event.remove(engine, "before_cursor_execute", watch)
            assert html.count('class="card-cover"') == n + 1
            assert len(media_queries) == 1
            counts.append(statements.count)
        assert counts[0] == counts[1] == counts[2]


def _another_product(n):
    from hub.publishing import services as publishing
    from tests.test_cache import vn

    coordinator = vn(None)
    entry = publishing.create_entry(
        coordinator, "product", "vi", {"title": f"Sản phẩm {n}"}, {"product_group": "food"}
    )
    publishing.set_status(coordinator, entry.id, "published")
    return entry.id


def test_the_demo_has_photos_with_their_licence(app, client, local_media):
    manifest = json.loads((PHOTOS / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert manifest and all(item["licence"] == "CC0-1.0" for item in manifest)
    assert all((PHOTOS / item["file"]).is_file() for item in manifest)
    with app.test_request_context("/"):
        seed_demo()
        tea = db.session.scalar(select(Entry).where(Entry.partner_id == "demo:vn-thai-nguyen-tea"))
        fair = db.session.scalar(select(Entry).where(Entry.partner_id == "demo:vn-ocop-fair-2019"))
        statuses = db.session.scalars(select(Media.status)).all()
        assert statuses and set(statuses) == {"ready"}  # processed at seed time
    html = page(client, f"/en/products/{tea.id}")
    assert "Illustration: green hills lined with rows of tea bushes." in html
    assert "dedicated to the public domain (CC0 1.0)" in html
    assert "Enlarge photo 2 of 2" in html
    fair_page = page(client, f"/ja/fairs/{fair.id}")
    assert 'class="documents"' in fair_page and "CC0 1.0" in fair_page
    products = page(client, "/en/products")
    assert products.count('class="card-cover"') == 4
