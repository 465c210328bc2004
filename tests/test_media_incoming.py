"""Media travel with the data (issue 19 §4), incoming: connectors bring partners' photos and
documents through the safe fetcher, deduplicated by SHA-256 or URL, byte for byte from another
hub; a file that fails keeps the record and says why; nothing is deleted on a failed fetch.
Partners are loopback servers; on SQLite and PostgreSQL."""

import hashlib
import json

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.media import services as media_services
from hub.media.models import Media
from hub.publishing.models import Entry
from hub.sync import media as partner_media
from hub.sync import pipeline, services
from hub.sync.models import PartnerSource, SyncRun
from tests.support import LoopbackServer, sample_entries, send
from tests.test_media import jpeg, pdf

pytestmark = pytest.mark.usefixtures("loopback_allowed")


class Partner(LoopbackServer):
    """A loopback server answering ``files[path] = (status, content type, bytes)``, counting
    the requests for each path."""

    def __init__(self):
        self.files, self.hits = {}, {}
        super().__init__(self._get)

    def _get(self, handler):
        path = handler.path.split("?", 1)[0]
        self.hits[path] = self.hits.get(path, 0) + 1
        status, mime, body = self.files.get(path, (404, "text/plain", b"no"))
        send(handler, body, status, mime)


@pytest.fixture
def partner():
    server = Partner()
    yield server
    server.close()


@pytest.fixture
def local_media(app, tmp_path, monkeypatch):
    from hub.media.storage import storage

    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    return storage(app)


PHOTO = jpeg((600, 400))
OTHER = jpeg((500, 300))
DOCUMENT = pdf()


def run(app, source_id):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        found = pipeline.run_source(source_id)
        return found, services.run_detail(found)


def media_of(app, partner_id):
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id).where(Entry.partner_id == partner_id))
        return db.session.scalars(
            select(Media).where(Media.entry_id == entry_id).order_by(Media.position)
        ).all()


def feed(partner, items):
    body = {"version": "https://jsonfeed.org/version/1.1", "title": "P", "items": items}
    partner.files["/feed.json"] = (200, "application/feed+json", json.dumps(body).encode())


def item(number, **more):
    return {"id": f"i{number}", "title": f"Story {number}", "content_text": "Text.", **more}


def add_source(app, kind, url, settings):
    with app.test_request_context("/"):
        return services.add_source("VN", kind, url, settings).id


def test_a_json_feed_brings_its_media_once_and_says_what_failed(app, partner, local_media):
    partner.files.update(
        {
            "/tea.jpg": (200, "image/jpeg", PHOTO),
            "/decree.pdf": (200, "application/pdf", DOCUMENT),
            "/page.jpg": (200, "image/jpeg", b"<html><script>alert(1)</script></html>"),
        }
    )
    feed(
        partner,
        [
            item(
                1,
                image=f"{partner.url}/tea.jpg",
                attachments=[
                    {"url": f"{partner.url}/decree.pdf", "mime_type": "application/pdf"},
                    {"url": f"{partner.url}/gone.jpg", "mime_type": "image/jpeg"},
                    {"url": f"{partner.url}/page.jpg", "mime_type": "image/jpeg", "title": "x"},
                    {"url": f"{partner.url}/song.mp3", "mime_type": "audio/mpeg"},
                ],
            ),
            item(2),  # no media: nothing fetched for it
        ],
    )
    source = add_source(app, "jsonfeed", f"{partner.url}/feed.json", {"collection": "experiences"})
    found, said = run(app, source)
    assert found.status == "ok" and found.created == 2  # the records are kept
    media = media_of(app, "i1")
    assert [(m.kind, m.filename) for m in media] == [
        ("image", f"{partner.url}/tea.jpg"),
        ("pdf", f"{partner.url}/decree.pdf"),
    ]
    assert media[0].sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert media[0].created_by_source_id == source
    codes = {f["url"].rsplit("/", 1)[1]: f for f in found.detail["media"]["failed"]}
    assert codes["gone.jpg"]["code"] == "media_fetch"
    assert codes["gone.jpg"]["error"]["code"] == "http_status"
    assert codes["page.jpg"] == {**codes["page.jpg"], "code": "media_refused"}
    assert "song.mp3" not in codes  # not a type the hub takes: not even fetched
    assert "2 photos or documents of the partner could not be taken" in said
    assert "The server answered 404" in said
    assert media_of(app, "i2") == []

    hits = dict(partner.hits)
    partner.files["/feed.json"] = (
        200,
        "application/feed+json",
        partner.files["/feed.json"][2].replace(b"Text.", b"Text, again."),
    )
    found, _said = run(app, source)
    assert found.updated == 2
    assert partner.hits["/tea.jpg"] == hits["/tea.jpg"] == 1  # known by its URL: not again
    assert partner.hits["/decree.pdf"] == 1
    assert len(media_of(app, "i1")) == 2


def test_a_calendar_brings_its_image_and_attachments(app, partner, local_media):
    partner.files["/hall.jpg"] = (200, "image/jpeg", PHOTO)
    partner.files["/plan.pdf"] = (200, "application/pdf", DOCUMENT)
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:f1\r\n"
        "DTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:20290601\r\nSUMMARY:Fair\r\n"
        f"ATTACH;FMTTYPE=application/pdf:{partner.url}/plan.pdf\r\n"
        f"IMAGE;VALUE=URI;DISPLAY=FULLSIZE:{partner.url}/hall.jpg\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    partner.files["/fairs.ics"] = (200, "text/calendar", calendar.encode())
    source = add_source(
        app,
        "ical",
        f"{partner.url}/fairs.ics",
        {"language": "en", "timezone": "Asia/Ho_Chi_Minh", "past_days": 30, "future_days": 1830},
    )
    found, _said = run(app, source)
    assert found.created == 1
    assert [m.kind for m in media_of(app, "f1")] == ["image", "pdf"]


def test_a_hub_following_a_hub_gets_the_same_bytes_and_keeps_them_on_failure(
    app, partner, media_storage, monkeypatch
):
    """The publishing hub's changes feed and files are served from the loopback partner."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        product_id = sample_entries()["product"].id
        photo = media_services.add(product_id, "tea.jpg", PHOTO, alts={"vi": "Chè"})
        media_services.process_pending()
        db.session.refresh(photo)
        variants = photo.variants
        monkeypatch.setitem(app.config, "BASE_URL", partner.url)
    client = app.test_client()
    page = client.get("/api/v1/changes?country=VN&limit=1000").get_json()
    (published,) = [i for i in page["items"] if i["id"] == product_id]
    (medium,) = published["record"]["media"]
    for variant in variants:
        partner.files[f"/media/{variant['key']}"] = (
            200,
            "image/jpeg",
            media_storage.get(variant["key"]),
        )
    page["items"] = [published]
    partner.files["/api/v1/changes"] = (200, "application/json", json.dumps(page).encode())
    monkeypatch.setitem(app.config, "BASE_URL", "https://follower.example")

    source = add_source(app, "hub", partner.url, {"country": "VN"})
    found, said = run(app, source)
    assert found.created == 1, said
    (copy,) = media_of(app, str(product_id))
    assert copy.sha256 == medium["sha256"]  # byte for byte: the original's SHA-256 matches
    assert (
        media_storage.get(copy.original_key) == partner.files[medium["url"][len(partner.url) :]][2]
    )
    assert copy.alts == {"vi": "Chè"}

    # Unchanged: known by its SHA-256, not fetched again.
    hits = partner.hits[medium["url"][len(partner.url) :]]
    found, _said = run(app, source)
    assert partner.hits[medium["url"][len(partner.url) :]] == hits

    # The partner lists a new photo that fails, and no longer the old one: nothing is deleted.
    broken = {**medium, "url": f"{partner.url}/media/v/missing.jpg", "sha256": "0" * 64}
    published["record"]["media"] = [broken]
    published["seq"] = page["next_since"] = page["next_since"] + 1
    partner.files["/api/v1/changes"] = (200, "application/json", json.dumps(page).encode())
    found, said = run(app, source)
    assert found.detail["media"]["failures"] == 1
    assert [m.sha256 for m in media_of(app, str(product_id))] == [medium["sha256"]]

    # A SHA-256 that does not match the bytes is refused, the record kept.
    alias = "/media/v/alias.jpg"
    partner.files[alias] = partner.files[medium["url"][len(partner.url) :]]
    wrong = {**medium, "url": partner.url + alias, "sha256": "1" * 64}
    published["record"]["media"] = [wrong]
    published["seq"] = page["next_since"] = page["next_since"] + 1
    partner.files["/api/v1/changes"] = (200, "application/json", json.dumps(page).encode())
    found, said = run(app, source)
    (failed,) = found.detail["media"]["failed"]
    assert failed["code"] == "media_sha256"
    assert "does not have the SHA-256" in said
    assert len(media_of(app, str(product_id))) == 1

    # The partner's whole list, fetched: what it no longer lists goes.
    partner.files["/other.jpg"] = (200, "image/jpeg", OTHER)
    published["record"]["media"] = [{"url": f"{partner.url}/other.jpg"}]
    published["seq"] = page["next_since"] = page["next_since"] + 1
    partner.files["/api/v1/changes"] = (200, "application/json", json.dumps(page).encode())
    found, said = run(app, source)
    assert [m.sha256 for m in media_of(app, str(product_id))] == [hashlib.sha256(OTHER).hexdigest()]


def test_a_private_address_is_refused_and_the_cap_holds(app, partner, local_media, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_MEDIA_PER_RUN", 1)
    partner.files["/a.jpg"] = (200, "image/jpeg", PHOTO)
    partner.files["/b.jpg"] = (200, "image/jpeg", OTHER)
    feed(
        partner,
        [
            item(
                1,
                image=f"{partner.url}/a.jpg",
                attachments=[{"url": f"{partner.url}/b.jpg", "mime_type": "image/jpeg"}],
            ),
            item(2, image="http://10.0.0.7/secret.jpg"),
        ],
    )
    source = add_source(app, "jsonfeed", f"{partner.url}/feed.json", {"collection": "experiences"})
    found, said = run(app, source)
    assert len(media_of(app, "i1")) == 1
    assert found.detail["media"]["left"] == 2
    assert "left for the next run" in said
    monkeypatch.setitem(app.config, "SYNC_MEDIA_PER_RUN", 10)
    partner.files["/feed.json"] = (
        200,
        "application/feed+json",
        partner.files["/feed.json"][2].replace(b"Text.", b"Text, again."),
    )
    found, said = run(app, source)
    assert len(media_of(app, "i1")) == 2
    (failed,) = found.detail["media"]["failed"]
    assert failed["error"]["code"] == "blocked"
    assert media_of(app, "i2") == []


def said_in(app, run_id, language):
    """The run's account in ``language``, as its source's page shows it to its owner."""
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return services.run_detail(db.session.get(SyncRun, run_id))


def csv_file(partner, rows):
    body = "\ufeffID,Tên sản phẩm,Nhóm sản phẩm,Ảnh\n" + "".join(f"{row}\n" for row in rows)
    partner.files["/products.csv"] = (200, "text/csv", body.encode())


def test_a_csv_image_column_brings_media_in_the_partners_order(app, partner, media_storage):
    """The column «Ảnh» (found by its header), URLs separated by ";" or spaces, the product's
    name as alternative text; the partner's order followed at every run, a coordinator's own
    upload after; an empty cell removes the partner's media only."""
    partner.files["/a.jpg"] = (200, "image/jpeg", PHOTO)
    partner.files["/b.pdf"] = (200, "application/pdf", DOCUMENT)
    a, b, gone = (f"{partner.url}/{name}" for name in ("a.jpg", "b.pdf", "gone.jpg"))
    csv_file(partner, [f"P1,Chè Tân Cương,beverages,{a}; {b} {gone}", "P2,Bánh gai,food,"])
    source = add_source(app, "csv", f"{partner.url}/products.csv", {})
    found, _said = run(app, source)
    assert found.created == 2, _said
    media = media_of(app, "P1")
    assert [(m.kind, m.filename) for m in media] == [("image", a), ("pdf", b)]
    assert media[0].alts == {"vi": "Chè Tân Cương"}
    assert media_storage.get(media[0].original_key) == PHOTO
    (failed,) = found.detail["media"]["failed"]
    assert (failed["id"], failed["url"], failed["code"]) == ("P1", gone, "media_fetch")
    # In the owner's language: the record, the URL and why.
    vietnamese = said_in(app, found.id, "vi")
    assert gone in vietnamese and "P1" in vietnamese
    assert "404" in vietnamese and "could not" not in vietnamese
    assert media_of(app, "P2") == []

    with app.test_request_context("/"):
        entry_id = media[0].entry_id
        own = media_services.add(entry_id, "mine.jpg", OTHER).id  # the coordinator's upload
    csv_file(partner, [f"P1,Chè Tân Cương,beverages,{b};{a}", "P2,Bánh gai,food,"])
    found, _said = run(app, source)
    assert (found.updated, found.unchanged) == (1, 1)  # P1's list changed (its order)
    assert [m.filename for m in media_of(app, "P1")] == [b, a, "mine.jpg"]
    assert partner.hits["/a.jpg"] == partner.hits["/b.pdf"] == 1

    csv_file(partner, ["P1,Chè Tân Cương,beverages,", "P2,Bánh gai,food,"])
    found, _said = run(app, source)
    assert found.detail["media"]["removed"] == 2
    assert [m.id for m in media_of(app, "P1")] == [own]


def test_ckan_photos_and_pdfs_come_as_media(app, partner, local_media):
    partner.files["/files/hall.jpg"] = (200, "image/jpeg", PHOTO)
    partner.files["/files/decree"] = (200, "application/pdf", DOCUMENT)
    partner.files["/files/map.png"] = (200, "image/png", b"not a png at all")
    package = {
        "id": "d1",
        "name": "ocop-2024",
        "title": "OCOP 2024",
        "resources": [
            {"name": "Data", "url": f"{partner.url}/files/list.csv", "format": "CSV"},
            {"name": "Exhibition hall", "url": f"{partner.url}/files/hall.jpg", "format": "JPEG"},
            {
                "description": "Decision 148",
                "url": f"{partner.url}/files/decree",
                "mimetype": "application/pdf",
            },
            {"name": "Map", "url": f"{partner.url}/files/map.png"},
            {"name": "Missing", "url": f"{partner.url}/files/missing.pdf", "format": "PDF"},
        ],
    }
    answer = {"success": True, "result": {"count": 1, "results": [package]}}
    partner.files["/api/3/action/package_search"] = (
        200,
        "application/json",
        json.dumps(answer).encode(),
    )
    source = add_source(app, "ckan", partner.url, {"language": "en"})
    found, _said = run(app, source)
    assert found.created == 1  # the record is kept whatever its files do
    media = media_of(app, "d1")
    assert [(m.kind, m.alts) for m in media] == [
        ("image", {"en": "Exhibition hall"}),
        ("pdf", {"en": "Decision 148"}),
    ]
    assert "/files/list.csv" not in partner.hits  # not a photo or a PDF: not fetched
    failed = {f["url"].rsplit("/", 1)[1]: f["code"] for f in found.detail["media"]["failed"]}
    assert failed == {"map.png": "media_refused", "missing.pdf": "media_fetch"}
    japanese = said_in(app, found.id, "ja")
    assert "map.png" in japanese and "missing.pdf" in japanese


def push(client, tokens, records):
    return client.post("/api/v1/ingest", json={"records": records}, headers=tokens["VN"])


def pushed_record(partner_id, title, media):
    return {
        "id": partner_id,
        "collection": "experiences",
        "record": {
            "source_language": "en",
            "translations": {"en": {"title": title, "body": "A visit."}},
            "media": media,
        },
    }


def fetch_pushed(app):
    with app.test_request_context("/"):
        return partner_media.fetch_pushed(owner="test")


def test_pushed_media_are_fetched_off_the_request(app, client, tokens, partner, media_storage,
                                                  monkeypatch):  # fmt: skip
    partner.files["/a.jpg"] = (200, "image/jpeg", PHOTO)
    partner.files["/b.jpg"] = (200, "image/jpeg", OTHER)
    a, b = f"{partner.url}/a.jpg", f"{partner.url}/b.jpg"
    answer = push(
        client,
        tokens,
        [
            pushed_record("x1", "Tea hills", [{"url": a, "alts": {"en": "Hills"}}, {"url": b}]),
            pushed_record("x2", "Silk village", []),
        ],
    )
    assert answer.status_code == 200
    assert answer.get_json()["counts"]["created"] == 2
    assert partner.hits == {}  # the request answered without fetching anything
    run_id = answer.get_json()["run"]
    assert "2 photos or documents of these records are waiting" in said_in(app, run_id, "en")

    monkeypatch.setitem(app.config, "SYNC_MEDIA_PER_RUN", 1)
    assert fetch_pushed(app) == 1  # the cap holds; the rest waits for the next pass
    assert [m.filename for m in media_of(app, "x1")] == [a]
    with app.app_context():
        source = db.session.scalar(select(PartnerSource).where(PartnerSource.kind == "push"))
        assert source.next_run_dt is not None  # due again
    monkeypatch.setitem(app.config, "SYNC_MEDIA_PER_RUN", 10)
    assert fetch_pushed(app) == 1
    media = media_of(app, "x1")
    assert [m.filename for m in media] == [a, b]
    assert media[0].alts == {"en": "Hills"} and media_storage.get(media[0].original_key) == PHOTO
    assert fetch_pushed(app) == 0  # nothing waits any more
    with app.app_context():
        found = db.session.get(SyncRun, run_id)
        assert "media_pending" not in found.detail
        assert found.detail["media"]["added"] == 2
        source = db.session.scalar(select(PartnerSource).where(PartnerSource.kind == "push"))
        assert source.next_run_dt is None and source.lease_owner is None

    # A later push reorders them: the partner's order is followed.
    answer = push(client, tokens, [pushed_record("x1", "Tea hills", [{"url": b}, {"url": a}])])
    fetch_pushed(app)
    assert [m.filename for m in media_of(app, "x1")] == [b, a]
    assert partner.hits == {"/a.jpg": 1, "/b.jpg": 1}


def test_a_push_whose_media_all_fail_keeps_its_records_and_says_why(app, client, tokens, partner,
                                                                      local_media):  # fmt: skip
    partner.files["/page.jpg"] = (200, "image/jpeg", b"<html>not a photo</html>")
    answer = push(
        client,
        tokens,
        [
            pushed_record(
                "y1",
                "Weaving",
                [
                    {"url": f"{partner.url}/page.jpg"},
                    {"url": f"{partner.url}/gone.jpg"},
                    {"url": "http://10.0.0.7/secret.jpg"},
                ],
            )
        ],
    )
    run_id = answer.get_json()["run"]
    fetch_pushed(app)
    assert media_of(app, "y1") == []
    with app.app_context():
        found = db.session.get(SyncRun, run_id)
        assert found.created == 1 and found.status == "ok"
        codes = [f["code"] for f in found.detail["media"]["failed"]]
    assert codes == ["media_refused", "media_fetch", "media_fetch"]
    japanese = said_in(app, run_id, "ja")
    assert japanese.count("y1") == 3 and "gone.jpg" in japanese and "10.0.0.7" in japanese
    english = said_in(app, run_id, "en")
    assert "3 photos or documents of the partner could not be taken" in english
