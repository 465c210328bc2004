"""Media travel with the data (issue 19 §4), outgoing: the exchange format (``lang=all``), the
API's views, the changes feed, JSON Feed and iCal carry the ready media (absolute URL, type,
size, pixels, alternative texts, SHA-256); a media change gives its entry a new change number,
which the changes feed and the answer cache follow. On SQLite and PostgreSQL."""

import hashlib
import urllib.request

import icalendar
import pytest
from sqlalchemy import event

from hub.extensions import db
from hub.media import services
from hub.media.storage import LocalStorage
from hub.publishing.models import Entry
from tests.support import sample_entries
from tests.test_media import jpeg, pdf

BASE = "https://hub.example"


@pytest.fixture
def base(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", BASE)


@pytest.fixture
def local_media(app, tmp_path, monkeypatch, base):
    from hub.media.storage import storage

    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    return storage(app)


@pytest.fixture
def entries(app, ctx, local_media):
    return sample_entries()


@pytest.fixture
def any_media(media_storage, base):
    """Local storage, then S3 (moto's server): where the storage matters."""
    return media_storage


@pytest.fixture
def stored_entries(app, ctx, any_media):
    return sample_entries()


def served(client, url, files):
    """The bytes the hub's URL leads to: the file itself (local storage), or, from S3 with no
    public URL, a redirect to a presigned URL of the bucket."""
    assert url.startswith(f"{BASE}/media/v/")  # the hub's own URL, never a presigned one
    answer = client.get(url[len(BASE) :])
    status, data, location = answer.status_code, answer.data, answer.headers.get("Location")
    answer.close()  # a local file is sent from its open file
    if isinstance(files, LocalStorage):
        assert status == 200
        return data
    assert status == 302
    assert not location.startswith(BASE) and "Signature" in location
    with urllib.request.urlopen(location, timeout=5) as bucket:  # moto's server, on loopback
        return bucket.read()


def ready(entry_id, filename, data, alts=None):
    media = services.add(entry_id, filename, data, alts=alts)
    services.process_pending()
    db.session.refresh(media)
    return media


def seq_of(entry_id):
    db.session.expire_all()
    return db.session.get(Entry, entry_id).change_seq


def check_item(item, files):
    """The item's URL serves bytes of its size and SHA-256."""
    key = item["url"].rsplit("/media/", 1)[1]
    data = files.get(key)
    assert len(data) == item["size"]
    assert hashlib.sha256(data).hexdigest() == item["sha256"]


def test_the_api_carries_ready_media_only(client, stored_entries, any_media):
    product = stored_entries["product"]
    photo = ready(product.id, "tea.jpg", jpeg((2000, 1000)), {"vi": "Chè", "en": "Tea"})
    document = ready(product.id, "decree.pdf", pdf(), {"vi": "Quyết định"})
    services.add(product.id, "later.jpg", jpeg((400, 300)))  # pending: not shown
    detail = client.get(f"/api/v1/products/{product.id}?lang=all").get_json()
    media = detail["record"]["media"]
    assert [m["type"] for m in media] == ["image", "pdf"]
    first, second = media
    assert first["url"].startswith(f"{BASE}/media/v/")
    assert (first["mime"], first["width"], first["height"]) == ("image/jpeg", 1600, 800)
    assert first["cover"] is True and second["cover"] is False
    assert first["alts"] == {"vi": "Chè", "en": "Tea"}
    assert [v["width"] for v in first["variants"]][:1] == [1600]
    assert second["mime"] == "application/pdf"
    for item in media:
        check_item(item, any_media)
        assert hashlib.sha256(served(client, item["url"], any_media)).hexdigest() == item["sha256"]
        for variant in item["variants"]:
            assert variant["url"].startswith(f"{BASE}/media/v/")
    assert photo.status == document.status == "ready"

    view = client.get(f"/api/v1/products/{product.id}?lang=ja").get_json()
    assert view["media"][0]["alt"] == "Chè"  # the source language's, marked
    assert view["media"][0]["alt_fallback"] is True
    assert view["media"][0]["alt_language"] == "vi"
    english = client.get(f"/api/v1/products/{product.id}?lang=en").get_json()
    assert english["media"][0]["alt"] == "Tea" and english["media"][0]["alt_fallback"] is False

    listed = client.get("/api/v1/products?lang=all").get_json()["items"]
    (mine,) = [i for i in listed if i["id"] == product.id]
    assert mine["record"]["media"] == media


def test_a_page_reads_its_media_in_one_query(app, client, entries):
    for entry in entries.values():
        ready(entry.id, "photo.jpg", jpeg((400, 300)))
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM media" in statement:
            statements.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/changes?limit=1000").status_code == 200
        assert client.get("/feeds/products.json").status_code == 200
        assert client.get("/api/v1/policies?lang=en").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3


def test_the_changes_feed_and_the_record_schema_carry_media(client, stored_entries, any_media):
    product = stored_entries["product"]
    before = seq_of(product.id)
    ready(product.id, "tea.jpg", jpeg((900, 600)), {"en": "Green tea"})
    after = seq_of(product.id)
    assert after > before  # ready: the entry changed
    page = client.get(f"/api/v1/changes?since={before}").get_json()
    (item,) = [i for i in page["items"] if i["id"] == product.id]
    assert item["seq"] == after
    (medium,) = item["record"]["media"]
    assert medium["alts"] == {"en": "Green tea"} and medium["width"] == 900
    check_item(medium, any_media)
    others = [i for i in page["items"] if not i["deleted"] and i["id"] != product.id]
    assert all(i["record"]["media"] == [] for i in others)

    from hub.publishing.exchange import RECORD_SCHEMAS

    loaded = RECORD_SCHEMAS["product"].load(item["record"])
    assert loaded["media"][0]["sha256"] == medium["sha256"]

    schema = client.get("/api/v1/schemas/product.json").get_json()
    assert "media" in schema["properties"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "media" in spec["components"]["schemas"]["ProductView"]["properties"]


def test_removing_reordering_and_alts_move_the_change_number(entries):
    product = entries["product"]
    first = ready(product.id, "a.jpg", jpeg((400, 300)))
    second = ready(product.id, "b.jpg", jpeg((500, 300)))
    seqs = [seq_of(product.id)]
    services.set_cover(second)
    seqs.append(seq_of(product.id))
    services.update(first, alts={"en": "A"})
    seqs.append(seq_of(product.id))
    services.remove(first)
    seqs.append(seq_of(product.id))
    assert seqs == sorted(set(seqs))


def test_a_cached_answer_shows_a_new_photo_once_it_is_ready(client, entries):
    product = entries["product"]
    url = f"/api/v1/products/{product.id}?lang=en"
    assert client.get(url).get_json()["media"] == []
    assert client.get(url).get_json()["media"] == []  # from the cache now
    media = services.add(product.id, "tea.jpg", jpeg((400, 300)))
    assert client.get(url).get_json()["media"] == []  # pending: nothing changed
    services.process_pending()
    db.session.refresh(media)
    shown = client.get(url).get_json()["media"]
    largest_jpeg = next(v for v in media.variants if v["format"] == "jpeg")
    assert [m["sha256"] for m in shown] == [largest_jpeg["sha256"]]


def test_json_feed_has_image_and_attachments(client, stored_entries, any_media):
    product = stored_entries["product"]
    ready(product.id, "decree.pdf", pdf())
    photo = ready(product.id, "tea.jpg", jpeg((900, 600)), {"en": "Tea", "vi": "Chè"})
    feed = client.get("/feeds/products.json?lang=en").get_json()
    (item,) = [i for i in feed["items"] if i["url"].endswith(f"/{product.id}")]
    attachments = item["attachments"]
    assert [a["mime_type"] for a in attachments] == ["application/pdf", "image/jpeg"]
    assert item["image"] == attachments[1]["url"]  # the cover is a document: the first photo
    assert attachments[1]["title"] == "Tea"
    assert "title" not in attachments[0]  # no alternative text in any language
    assert all(isinstance(a["size_in_bytes"], int) for a in attachments)
    for attachment in attachments:  # the hub's URL, whatever the storage
        data = served(client, attachment["url"], any_media)
        assert len(data) == attachment["size_in_bytes"]
    assert photo.status == "ready"
    policy = [i for i in feed["items"] if "attachments" in i]
    assert len(policy) == 1


def test_the_calendar_attaches_a_fairs_media(client, entries):
    fair = entries["fair"]
    ready(fair.id, "floor.pdf", pdf())
    ready(fair.id, "hall.jpg", jpeg((900, 600)))
    calendar = icalendar.Calendar.from_ical(client.get("/fairs.ics").data)
    (event_,) = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith(f"fair-{fair.id}@")]
    attached = event_.get("attach")
    assert [a.params["FMTTYPE"] for a in attached] == ["application/pdf", "image/jpeg"]
    image = event_["image"]
    assert image.params["VALUE"] == "URI" and image.params["FMTTYPE"] == "image/jpeg"
    assert str(image) == str(attached[1])
