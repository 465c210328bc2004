"""Uploading photos and documents: the manage page's "Photos and documents" section and the
API's /api/v1/<collection>/<id>/media, on SQLite and PostgreSQL (the page's upload on the
local folder and on S3, moto's server on loopback)."""

import io
import re

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.media import services
from hub.media.models import Media
from hub.publishing import services as publishing
from tests.support import csrf_token, sample_entries, sign_in
from tests.test_media import jpeg, pdf

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'
HTML_AS_JPEG = b"<!doctype html><html><script>alert(1)</script></html>"


def small_jpeg():
    return jpeg(size=(400, 300))


@pytest.fixture
def local_media(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)


@pytest.fixture
def product(app):
    with app.test_request_context("/"):
        return sample_entries()["product"].id


def media_rows(app):
    with app.app_context():
        return db.session.scalars(select(Media).order_by(Media.position)).all()


def count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Media))


def process(app):
    with app.test_request_context("/"):
        return services.process_pending()


def flashes(page):
    return re.findall(r'<p class="flash flash-(\w+)">(.*?)</p>', page, re.S)


# ---------------------------------------------------------------------------- the manage page


def test_the_page_uploads_several_files_and_one_bad_one_costs_the_others_nothing(
    app, client, product, media_storage
):
    sign_in(client, VN)
    url = f"/en/manage/entries/{product}"
    page = client.get(url).get_data(as_text=True)
    assert 'type="file"' in page and " multiple " in page and 'accept="image/jpeg' in page
    assert "No photos or documents yet." in page
    response = client.post(
        f"{url}/media",
        data={
            "csrf_token": csrf_token(client, url),
            "files": [
                (io.BytesIO(small_jpeg()), "tea.jpg"),
                (io.BytesIO(SVG), "logo.svg"),
                (io.BytesIO(pdf()), "decree.pdf"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}#media")
    page = client.get(url).get_data(as_text=True)
    said = flashes(page)
    assert ("error", "“logo.svg” was not added: SVG images are refused, as they can hold "
            "scripts: upload a PNG or a JPEG.") in said  # fmt: skip
    assert any(kind == "success" and "2 files added" in text for kind, text in said)
    rows = media_rows(app)
    assert [(m.filename, m.status, m.kind) for m in rows] == [
        ("tea.jpg", "pending", "image"),
        ("decree.pdf", "pending", "pdf"),
    ]
    assert created_by(app, rows[0].id) is not None
    assert page.count("Being prepared") == 2
    assert sum(1 for f in media_storage.files()) == 2  # the originals; nothing of the SVG

    assert process(app) == 2
    page = client.get(url).get_data(as_text=True)
    assert "Being prepared" not in page and page.count(">Ready<") + page.count("Ready\n") >= 1
    assert re.search(r'<img src="[^"]+/media/v/[0-9a-f]{64}\.jpg" width="320" height="240"', page)
    assert [m.status for m in media_rows(app)] == ["ready", "ready"]


def created_by(app, media_id):
    with app.app_context():
        return db.session.get(Media, media_id).created_by_user_id


def upload(client, entry_id, *files, lang="en"):
    url = f"/{lang}/manage/entries/{entry_id}"
    return client.post(
        f"{url}/media",
        data={"csrf_token": csrf_token(client, url), "files": list(files)},
        content_type="multipart/form-data",
    )


def test_the_page_reorders_chooses_the_cover_edits_alt_texts_and_removes(
    app, client, product, local_media
):
    sign_in(client, VN)
    url = f"/en/manage/entries/{product}"
    upload(
        client,
        product,
        (io.BytesIO(small_jpeg()), "a.jpg"),
        (io.BytesIO(jpeg(size=(300, 200))), "b.jpg"),
        (io.BytesIO(pdf()), "c.pdf"),
    )
    a, b, c = (m.id for m in media_rows(app))
    token = csrf_token(client, url)

    def post(path, **data):
        return client.post(f"{url}/media/{path}", data={"csrf_token": token, **data})

    assert post(f"{a}/move", direction="down").status_code == 302
    assert [m.id for m in media_rows(app)] == [b, a, c]
    assert post(f"{c}/cover").status_code == 302
    assert [m.id for m in media_rows(app)] == [c, b, a]
    assert post(f"{c}/move", direction="up").status_code == 302  # already first: no change
    assert post(f"{a}/move", direction="sideways").status_code == 400
    assert [m.id for m in media_rows(app)] == [c, b, a]
    page = client.get(url).get_data(as_text=True)
    assert "Cover: c.pdf" in page

    assert post(f"{b}/alts", **{"alt-vi": "Chè xanh", "alt-en": "  Green   tea ", "alt-ja": ""}).status_code == 302  # fmt: skip
    with app.app_context():
        assert db.session.get(Media, b).alts == {"vi": "Chè xanh", "en": "Green tea"}
    assert post(f"{b}/alts", **{"alt-en": "x" * 1001}).status_code == 302
    assert "An alternative text has at most 1000 characters." in client.get(url).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Media, b).alts == {"vi": "Chè xanh", "en": "Green tea"}

    # Removing: a page that says what it does, then the removal (no trash).
    page = client.get(f"{url}/media/{c}/remove").get_data(as_text=True)
    assert "A removal cannot be undone" in page and "It is the cover" in page
    assert count(app) == 3  # the GET changes nothing
    assert post(f"{c}/remove").status_code == 302
    assert [(m.id, m.position) for m in media_rows(app)] == [(b, 0), (a, 1)]
    assert client.get(f"{url}/media/{c}/remove").status_code == 404
    # Without the CSRF token nothing changes.
    response = client.post(f"{url}/media/{a}/cover")
    assert response.status_code == 400
    assert [m.id for m in media_rows(app)] == [b, a]


def test_the_page_speaks_the_users_language_and_shows_failures(app, client, product, local_media):
    sign_in(client, VN, lang="vi")
    assert upload(client, product, lang="vi").status_code == 302  # no file chosen
    url = f"/vi/manage/entries/{product}"
    assert ("error", "Hãy chọn một hoặc nhiều tệp để tải lên.") in flashes(
        client.get(url).get_data(as_text=True)
    )
    upload(
        client,
        product,
        (io.BytesIO(HTML_AS_JPEG), "photo.jpg"),
        (io.BytesIO(small_jpeg()), "ok.jpg"),
        lang="vi",
    )
    said = flashes(client.get(url).get_data(as_text=True))
    assert any(k == "error" and "photo.jpg" in t and "nội dung" in t for k, t in said), said
    # A medium whose original is gone fails when processed, and says why.
    (medium,) = media_rows(app)
    with app.test_request_context("/"):
        from hub.media.storage import storage

        storage().delete(medium.original_key)
    process(app)
    page = client.get(url).get_data(as_text=True)
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        from flask_babel import force_locale

        with force_locale("vi"):
            reason = services.failure_message("missing_original")
    assert reason in page and "missing_original" not in page


# ---------------------------------------------------------------------------- the API


def api_upload(client, entry_id, data, headers, name="tea.jpg", collection="products", **alts):
    return client.post(
        f"/api/v1/{collection}/{entry_id}/media",
        data={"file": (io.BytesIO(data), name), **alts},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_the_api_creates_reads_changes_and_deletes_media(app, client, product, tokens, local_media):
    vn = tokens["VN"]
    base = f"/api/v1/products/{product}/media"
    response = api_upload(
        client, product, small_jpeg(), vn, **{"alt.vi": "Chè xanh", "alt.en": "Green tea"}
    )
    assert response.status_code == 202, response.get_json()
    first = response.get_json()
    assert first["status"] == "pending" and first["url"] is None and first["cover"]
    assert first["alts"] == {"vi": "Chè xanh", "en": "Green tea"}
    assert response.headers["Location"].endswith(f"{base}/{first['id']}")
    # Pending media are the token's to see, not the visitors'.
    assert client.get(base).get_json() == {"items": []}
    assert client.get(response.headers["Location"]).status_code == 404
    mine = client.get(base, headers=vn)
    assert [m["status"] for m in mine.get_json()["items"]] == ["pending"]
    assert "private" in mine.headers["Cache-Control"]

    second = api_upload(client, product, pdf(), vn, name="decree.pdf").get_json()
    assert process(app) == 2
    items = client.get(f"{base}?lang=vi").get_json()["items"]
    assert [(m["id"], m["status"], m["type"]) for m in items] == [
        (first["id"], "ready", "image"),
        (second["id"], "ready", "pdf"),
    ]
    assert items[0]["alt"] == "Chè xanh" and items[0]["url"].endswith(".jpg")
    assert items[1]["url"].endswith(".pdf")
    one = client.get(f"{base}/{first['id']}?lang=ja").get_json()
    assert one["alt_fallback"] is True and one["alt"] == "Chè xanh"  # the source's, visibly

    # PATCH: alt texts merged (null removes one), the cover, the position.
    url = f"{base}/{first['id']}"
    answer = client.patch(url, json={"alts": {"ja": "緑茶", "en": None}}, headers=vn)
    assert answer.status_code == 200
    assert answer.get_json()["alts"] == {"vi": "Chè xanh", "ja": "緑茶"}
    answer = client.patch(f"{base}/{second['id']}", json={"cover": True}, headers=vn)
    assert answer.get_json()["cover"] is True and answer.get_json()["position"] == 0
    answer = client.patch(f"{base}/{second['id']}", json={"position": 9}, headers=vn)
    assert answer.get_json()["position"] == 1  # past the end: last
    assert client.get(url).get_json()["cover"] is True

    # Wrong types: 422 per field; nothing changes.
    answer = client.patch(
        url,
        json={"alts": {"fr": "Thé", "vi": 3}, "position": "1", "cover": "yes", "size": 1},
        headers=vn,
    )
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["details"]) == {
        "alts.fr", "alts.vi", "position", "cover", "size"
    }  # fmt: skip
    answer = client.patch(url, json={"position": True}, headers=vn)
    assert set(answer.get_json()["error"]["details"]) == {"position"}
    answer = client.patch(
        url,
        data=b'{"alts": {"vi": "\\ud800"}}',
        headers={**vn, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422 and "alts.vi" in answer.get_json()["error"]["details"]
    answer = client.patch(url, json=[1], headers={**vn, "Accept-Language": "ja"})
    assert answer.get_json()["error"]["details"]["_body"] == ["JSONオブジェクトを送ってください。"]
    assert client.get(url).get_json()["alts"] == {"vi": "Chè xanh", "ja": "緑茶"}

    # DELETE: gone, and the other one is the cover.
    assert client.delete(url, headers=vn).status_code == 204
    assert client.get(url, headers=vn).status_code == 404
    assert [m["cover"] for m in client.get(base).get_json()["items"]] == [True]
    assert client.delete(url, headers=vn).status_code == 404
    assert client.get(f"/api/v1/policies/{product}/media").status_code == 404  # wrong collection


def test_every_api_write_needs_the_entrys_country(app, client, product, tokens, local_media):
    vn, th = tokens["VN"], tokens["TH"]
    base = f"/api/v1/products/{product}/media"
    medium = api_upload(client, product, small_jpeg(), vn).get_json()
    url = f"{base}/{medium['id']}"
    with app.test_request_context("/"):
        from hub.api.auth import issue_token, revoke_token

        revoked, secret = issue_token("Old", "VN")
        revoke_token(revoked.id)
    for headers, status in (({}, 401), (th, 404), ({"Authorization": f"Bearer {secret}"}, 401)):
        assert api_upload(client, product, small_jpeg(), headers).status_code == status
        assert client.patch(url, json={"cover": True}, headers=headers).status_code == status
        assert client.delete(url, headers=headers).status_code == status
    assert count(app) == 1
    # A draft's media are its country's only.
    with app.test_request_context("/"):
        from hub.accounts.models import User

        vn_user = db.session.scalar(select(User).where(User.email == VN))
        publishing.set_status(vn_user, product, "draft")
    assert client.get(base).status_code == 404
    assert client.get(base, headers=th).status_code == 404
    assert client.get(base, headers=vn).status_code == 200


def test_the_api_refuses_what_the_hub_does_not_take_and_stores_nothing(
    app, client, product, tokens, media_storage, monkeypatch
):
    vn = tokens["VN"]
    ja = {**vn, "Accept-Language": "ja"}
    answer = api_upload(client, product, SVG, ja, name="logo.svg")
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["reason"] == "invalid_input" and "SVG" in error["details"]["file"][0]
    assert error["details"]["file"][0] != (
        "SVG images are refused, as they can hold scripts: upload a PNG or a JPEG."
    )  # in Japanese
    answer = api_upload(client, product, HTML_AS_JPEG, vn, name="tea.jpg")
    assert answer.status_code == 422
    assert "the hub reads its content, not its name" in answer.get_json()["error"]["details"]["file"][0]  # fmt: skip
    answer = client.post(
        f"/api/v1/products/{product}/media", data={"alt.vi": "x"}, headers=vn,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert answer.status_code == 422 and "file" in answer.get_json()["error"]["details"]
    answer = api_upload(client, product, small_jpeg(), vn, **{"alt.fr": "Thé", "colour": "red"})
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["details"]) == {"alt.fr", "colour"}
    # Over the file limit: 413 with the reason.
    monkeypatch.setitem(app.config, "MEDIA_MAX_BYTES", 1000)
    answer = api_upload(client, product, small_jpeg(), vn)
    assert answer.status_code == 413
    assert answer.get_json()["error"]["reason"] == "too_large"
    assert answer.get_json()["error"]["message"].startswith("The file is larger than")
    # Over the request limit: 413 before the body is read.
    monkeypatch.setitem(app.config, "MEDIA_MAX_REQUEST_BYTES", 2000)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    answer = api_upload(client, product, b"\xff\xd8\xff" + b"0" * 5000, vn)
    assert answer.status_code == 413 and answer.get_json()["error"]["reason"] == "too_large"
    assert count(app) == 0
    assert list(media_storage.files()) == []


def test_a_media_upload_may_be_larger_than_other_requests(
    app, client, product, tokens, local_media, monkeypatch
):
    """request_limits lets the media routes (API and page) take HUB_MEDIA_MAX_REQUEST_BYTES."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    big = jpeg(size=(600, 400))
    assert len(big) > 1000
    assert api_upload(client, product, big, tokens["VN"]).status_code == 202
    assert (
        client.patch(
            f"/api/v1/products/{product}", json={"x": "y" * 2000}, headers=tokens["VN"]
        ).status_code
        == 413
    )


def test_another_countrys_coordinator_uploads_nothing(app, client, product, local_media):
    sign_in(client, TH)
    token = csrf_token(client, "/en/manage/")
    response = client.post(
        f"/en/manage/entries/{product}/media",
        data={"csrf_token": token, "files": [(io.BytesIO(small_jpeg()), "tea.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert count(app) == 0
