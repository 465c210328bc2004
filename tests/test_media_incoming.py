"""Media travel with the data (issue 19 §4), incoming: connectors bring partners' photos and
documents through the safe fetcher, deduplicated by SHA-256 or URL, byte for byte from another
hub; a file that fails keeps the record and says why; nothing is deleted on a failed fetch.
Partners are loopback servers; on SQLite and PostgreSQL."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.media import services as media_services
from hub.media.models import Media
from hub.publishing.models import Entry
from hub.sync import pipeline, services
from tests.support import sample_entries
from tests.test_media import jpeg, pdf

pytestmark = pytest.mark.usefixtures("loopback_allowed")


class Partner:
    """A loopback server answering ``files[path] = (status, content type, bytes)``, counting
    the requests for each path."""

    def __init__(self):
        self.files, self.hits = {}, {}
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                partner.hits[path] = partner.hits.get(path, 0) + 1
                status, mime, body = partner.files.get(path, (404, "text/plain", b"no"))
                self.send_response(status)
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
    app, partner, local_media, monkeypatch
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
            local_media.get(variant["key"]),
        )
    page["items"] = [published]
    partner.files["/api/v1/changes"] = (200, "application/json", json.dumps(page).encode())
    monkeypatch.setitem(app.config, "BASE_URL", "https://follower.example")

    source = add_source(app, "hub", partner.url, {"country": "VN"})
    found, said = run(app, source)
    assert found.created == 1, said
    (copy,) = media_of(app, str(product_id))
    assert copy.sha256 == medium["sha256"]  # byte for byte: the original's SHA-256 matches
    assert local_media.get(copy.original_key) == partner.files[medium["url"][len(partner.url) :]][2]
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
