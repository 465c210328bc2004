"""Media (hub.media): refusals, processing, the job's claim, serving, orphans and the storage
check — every storage test on the local folder and on S3 (moto's server on loopback), on
SQLite and PostgreSQL."""

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pikepdf
import pytest
import requests
from flask import request_started
from PIL import Image, ImageCms
from sqlalchemy import event, func, select

from hub.db import utcnow
from hub.extensions import db
from hub.media import edits, pending, services, validate
from hub.media.models import Media
from hub.media.services import MediaRefused
from hub.media.storage import LocalStorage, storage
from tests.support import sample_entries

ORIENTATION, GPS_IFD = 0x0112, 0x8825


# ---------------------------------------------------------------------------- files made here


def jpeg(size=(2400, 1400), orientation=None, gps=False):
    """A JPEG whose left half is red and right half blue, with EXIF orientation and GPS."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 51.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def swapped_profile():
    """An RGB ICC profile whose red and green primaries are swapped: its colours are not
    sRGB's, so a conversion shows."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", data[128:132])
    tags = {}
    for i in range(count):
        at = 132 + 12 * i
        tags[bytes(data[at : at + 4])] = at
    red, green = tags[b"rXYZ"], tags[b"gXYZ"]
    data[red + 4 : red + 12], data[green + 4 : green + 12] = (
        data[green + 4 : green + 12],
        data[red + 4 : red + 12],
    )
    return bytes(data)


def png_with_profile(colour=(200, 40, 40)):
    out = io.BytesIO()
    Image.new("RGB", (100, 60), colour).save(out, "PNG", icc_profile=swapped_profile())
    return out.getvalue()


def png_bomb(width=60_000, height=60_000):
    """A PNG declaring ``width`` × ``height`` pixels, a few bytes long."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def pdf(text="Oita shochu OVOP", author="Secret Author"):
    """A one-page PDF (200 × 100 pt) with ``text``, an /Info dictionary naming ``author`` and
    XMP metadata."""
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{author}</dc:creator></x:xmpmeta>'
    stream = f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp)
        + xmp.encode()
        + b"\nendstream",
        f"<< /Author ({author}) /Producer (Test) >>".encode(),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return out.getvalue()


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def product(app, ctx):
    return sample_entries()["product"]


def stored(files):
    return sorted(f.key for f in files.files())


def ready(entry_id, filename, data, alts=None):
    media = services.add(entry_id, filename, data, alts=alts)
    services.process_pending()
    db.session.refresh(media)
    return media


def opened(files, variant):
    return Image.open(io.BytesIO(files.get(variant["key"])))


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("page.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not_supported"),
        ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
                     b"<script>alert(1)</script></svg>", "svg"),
        ("bomb.png", png_bomb(), "too_many_pixels"),
        ("cut.jpg", jpeg((800, 600))[:3000], "corrupt"),
        ("empty.jpg", b"", "empty"),
        ("broken.pdf", b"%PDF-1.7\nnothing here", "pdf_unreadable"),
    ],
)  # fmt: skip
def test_a_refused_file_says_why_and_nothing_is_stored(product, media_storage, name, data, reason):
    with pytest.raises(MediaRefused) as refused:
        services.add(product.id, name, data)
    assert refused.value.reason == reason
    assert refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Media)) == 0
    assert stored(media_storage) == []


def test_the_refusals_are_in_the_users_language(app, product):
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        from flask_babel import refresh

        refresh()
        with pytest.raises(MediaRefused) as refused:
            services.add(product.id, "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert "SVG" in refused.value.message
    assert "refused" not in refused.value.message


def test_a_file_over_the_limit_is_refused_before_it_is_read(app, product, media_storage):
    app.config["MEDIA_MAX_BYTES"], limit = 1000, app.config["MEDIA_MAX_BYTES"]
    try:
        with pytest.raises(MediaRefused) as refused:
            services.add(product.id, "big.jpg", io.BytesIO(jpeg((800, 600))))
    finally:
        app.config["MEDIA_MAX_BYTES"] = limit
    assert refused.value.reason == "too_large"
    assert stored(media_storage) == []


def test_a_bomb_is_refused_from_its_header_under_the_setting(app, product, media_storage):
    app.config["MEDIA_MAX_PIXELS"], limit = 10_000, app.config["MEDIA_MAX_PIXELS"]
    try:
        with pytest.raises(MediaRefused) as refused:
            services.add(product.id, "wide.png", png_bomb(200, 100))
    finally:
        app.config["MEDIA_MAX_PIXELS"] = limit
    assert refused.value.reason == "too_many_pixels"
    assert Image.MAX_IMAGE_PIXELS == 10_000


# ---------------------------------------------------------------------------- processing


def test_a_photo_is_turned_upright_stripped_and_made_in_three_widths(product, media_storage):
    media = services.add(product.id, "tea.jpg", jpeg((2400, 1400), orientation=6, gps=True))
    assert media.status == "pending"
    assert media.variants == []
    assert stored(media_storage) == [media.original_key]  # the original, privately

    assert services.process_pending() == 1
    db.session.refresh(media)
    assert media.status == "ready"
    assert (media.width, media.height) == (1400, 2400)
    sizes = [(v["format"], v["width"], v["height"]) for v in media.variants]
    assert sorted(sizes) == sorted(
        (fmt, w, round(2400 * w / 1400)) for w in (320, 800, 1400) for fmt in ("webp", "jpeg")
    )  # 1600 would be an upscale: the image's own width instead
    for variant in media.variants:
        image = opened(media_storage, variant)
        assert image.format == variant["format"].upper()
        assert image.size == (variant["width"], variant["height"])
        assert not image.getexif()
        assert "exif" not in image.info and "xmp" not in image.info
        assert "icc_profile" not in image.info
        rgb = image.convert("RGB")
        top, bottom = (
            rgb.getpixel((rgb.width // 2, 5)),
            rgb.getpixel((rgb.width // 2, rgb.height - 5)),
        )
        assert top[0] > 200 and top[2] < 60  # the left half, red, is on top once turned
        assert bottom[2] > 200 and bottom[0] < 60
        assert (
            variant["key"]
            == f"v/{variant['sha256']}.{'jpg' if variant['format'] == 'jpeg' else 'webp'}"
        )
        assert variant["bytes"] == len(media_storage.get(variant["key"]))


def heic(size=(1800, 1200), orientation=None):
    """A HEIC photo (an iPhone's format), red on the left and blue on the right, with EXIF."""
    validate.register_heif()  # Pillow writes HEIF once the plugin is loaded
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Phone"  # Make
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def test_a_heic_photo_is_accepted_and_made_into_webp_and_jpeg(product, media_storage):
    data = heic(orientation=6)
    assert data[4:12] == b"ftypheic"
    media = ready(product.id, "IMG_0001.HEIC", data)
    assert media.mime == "image/heic"
    assert (media.width, media.height) == (1200, 1800)  # turned upright
    assert {v["format"] for v in media.variants} == {"webp", "jpeg"}
    for variant in media.variants:
        image = opened(media_storage, variant)
        assert image.format == variant["format"].upper() and not image.getexif()
        rgb = image.convert("RGB")
        top = rgb.getpixel((rgb.width // 2, 5))
        assert top[0] > 200 and top[2] < 60  # the left half, red, is on top once turned


def test_a_wide_photo_gets_the_three_widths(product, media_storage):
    media = ready(product.id, "wide.jpg", jpeg((3000, 1500)))
    assert sorted({v["width"] for v in media.variants}) == [320, 800, 1600]
    assert (media.width, media.height) == (3000, 1500)


def test_colours_are_converted_to_srgb(product, media_storage):
    media = ready(product.id, "profile.png", png_with_profile())
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), (200, 40, 40)),
        ImageCms.ImageCmsProfile(io.BytesIO(swapped_profile())),
        ImageCms.createProfile("sRGB"),
    ).getpixel((0, 0))
    assert abs(expected[0] - 200) + abs(expected[1] - 40) > 60  # the profile does change them
    for variant in media.variants:
        image = opened(media_storage, variant)
        assert "icc_profile" not in image.info
        pixel = image.convert("RGB").getpixel((50, 30))
        assert all(abs(a - b) <= 12 for a, b in zip(pixel, expected, strict=True)), pixel
    assert [v["width"] for v in media.variants] == [100, 100]  # never upscaled


def test_a_pdf_gets_a_preview_its_text_and_loses_its_metadata(product, media_storage):
    media = ready(product.id, "decree.pdf", pdf())
    assert (media.kind, media.mime, media.status) == ("pdf", "application/pdf", "ready")
    assert "Oita shochu OVOP" in media.pdf_text
    previews = [v for v in media.variants if v["format"] != "pdf"]
    assert sorted((v["format"], v["width"], v["height"]) for v in previews) == sorted(
        (fmt, w, w // 2) for w in (320, 800, 1600) for fmt in ("webp", "jpeg")
    )
    (document,) = [v for v in media.variants if v["format"] == "pdf"]
    served = media_storage.get(document["key"])
    assert b"Secret Author" not in served
    with pikepdf.open(io.BytesIO(served)) as cleaned:
        assert "/Info" not in cleaned.trailer
        assert "/Metadata" not in cleaned.Root
        assert len(cleaned.pages) == 1
    assert b"Secret Author" in media_storage.get(media.original_key)  # kept privately


def test_a_claim_is_exclusive(product, media_storage, time_machine):
    # The clock stopped a second before a new year: a claim's expiry crosses the day, month
    # and year (claims compare the database's times only, never a file's).
    time_machine.move_to(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), tick=False)
    media = services.add(product.id, "tea.jpg", jpeg((400, 300)))
    now = utcnow()
    assert now == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert services.claim(media.id, "scheduler-a", now)
    assert not services.claim(media.id, "scheduler-b", now)
    assert services.process_pending(owner="scheduler-b") == 0  # a live claim is left alone
    db.session.refresh(media)
    assert media.status == "pending"
    later = now + timedelta(seconds=pending.CLAIM_SECONDS + 1)
    assert services.claim(media.id, "scheduler-b", later)  # a dead process's claim expires


# ---------------------------------------------------------------------------- the interface


def test_order_cover_alts_and_removal(app, product, media_storage):
    first = ready(product.id, "a.jpg", jpeg((400, 300)), alts={"vi": "Chè", "en": "Tea"})
    second = ready(product.id, "b.jpg", jpeg((300, 400)))
    third = ready(product.id, "c.pdf", pdf())
    assert [m.position for m in (first, second, third)] == [0, 1, 2]

    services.set_cover(third)
    assert [m.id for m in services.for_entries([product.id])[product.id]] == [
        third.id, first.id, second.id
    ]  # fmt: skip
    services.reorder(product.id, [second.id, first.id, third.id])
    with pytest.raises(MediaRefused):
        services.reorder(product.id, [second.id, first.id])

    with app.test_request_context("/"):
        described = services.describe(first, "ja", source_language="vi")
        assert (described["alt"], described["alt_language"], described["alt_fallback"]) == (
            "Chè", "vi", True
        )  # fmt: skip
        assert services.describe(first, "en")["alt_fallback"] is False
        assert described["cover"] is False and described["position"] == 1
        assert described["url"].startswith("http") and "/media/v/" in described["url"]
        main = next(v for v in first.variants if v["format"] == "jpeg")  # the largest JPEG
        assert (described["sha256"], described["size"]) == (main["sha256"], main["bytes"])
        assert described["original"] == {
            "mime": first.mime, "size": first.size, "sha256": first.sha256
        }  # fmt: skip
        assert {v["mime"] for v in described["variants"]} == {"image/webp", "image/jpeg"}
        pdf_described = services.describe(third, "en")
        assert pdf_described["url"].endswith(".pdf")

    services.update(first, alts={"ja": "お茶", "vi": ""})
    assert first.alts == {"ja": "お茶"}
    with pytest.raises(MediaRefused):
        services.update(first, alts={"fr": "Thé"})

    keys = {first.original_key, *(v["key"] for v in first.variants)}
    services.remove(first)
    assert keys.isdisjoint(stored(media_storage))
    remaining = services.for_entries([product.id])[product.id]
    assert [(m.id, m.position) for m in remaining] == [(second.id, 0), (third.id, 1)]


def test_for_entries_is_one_query(app, product):
    entries = sample_entries()
    for entry in entries.values():
        for _ in range(3):
            db.session.add(
                Media(entry_id=entry.id, kind="image", mime="image/png", sha256="0" * 64,
                      size=1, original_key="o/" + "0" * 64, status="ready")
            )  # fmt: skip
    db.session.commit()
    statements = []
    connection = db.session.connection()
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listen)
    try:
        found = services.for_entries([e.id for e in entries.values()], ready_only=True)
    finally:
        event.remove(connection, "before_cursor_execute", listen)
    assert len(statements) == 1
    assert sorted(len(items) for items in found.values()) == [3, 3, 3, 3]


# ---------------------------------------------------------------------------- serving


def test_a_variant_is_served_and_an_original_never(app, client, product, media_storage):
    media = ready(product.id, "tea.jpg", jpeg((400, 300)))
    webp = next(v for v in media.variants if v["format"] == "webp")
    answer = client.get(f"/media/{webp['key']}")
    if isinstance(media_storage, LocalStorage):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "image/webp"
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.data == media_storage.get(webp["key"])
        answer.close()
    else:
        assert answer.status_code == 302
        assert requests.get(answer.headers["Location"], timeout=10).content == (
            media_storage.get(webp["key"])
        )
    assert client.get(f"/media/{media.original_key}").status_code == 404
    assert client.get("/media/v/" + "a" * 64 + ".webp").status_code == 404
    assert client.get("/media/../instance/secret_key").status_code == 404


def test_s3_variants_can_be_sent_to_a_public_url(app, client, product, s3_server, monkeypatch):
    import uuid

    import boto3

    bucket = f"hub-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    monkeypatch.setitem(app.config, "MEDIA_URL", f"s3://{bucket}/photos")
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", "https://cdn.example.org/hub")
    media = ready(product.id, "tea.jpg", jpeg((400, 300)))
    key = media.variants[0]["key"]
    answer = client.get(f"/media/{key}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"https://cdn.example.org/hub/photos/{key}"
    with app.test_request_context("/"):
        assert services.describe(media, "en")["variants"][0]["url"] == answer.headers["Location"]


# ---------------------------------------------------------------------------- housekeeping


def test_media_of_purged_entries_and_stray_files_are_cleaned_up(app, product, media_storage):
    # Not on a stopped clock: a stray file's age comes from the storage's own time (the file
    # system's, or S3's), which time-machine does not move; the test reasons in offsets from now.
    from hub.accounts.models import User
    from hub.publishing import services as publishing
    from hub.publishing import trash

    media = ready(product.id, "tea.jpg", jpeg((400, 300)))
    media_id, files = media.id, 1 + len(media.variants)
    kept = ready(sample_entries()["fair"].id, "fair.jpg", jpeg((300, 200)))
    media_storage.put("o/" + "f" * 64, b"left by a failed upload", "image/jpeg")
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
    publishing.delete_entry(coordinator, product.id)
    later = utcnow() + timedelta(days=app.config["TRASH_DAYS"] + 1)
    assert trash.purge(now=later) == 1
    assert services.check().ok is False  # the stray file

    counts = services.cleanup_orphans(now=later)
    assert counts == {"media": 1, "files": 1 + files}  # the stray file and the medium's
    assert db.session.get(Media, media_id) is None
    assert db.session.get(Media, kept.id) is not None
    assert services.check().ok
    assert stored(media_storage) == sorted(edits._keys(kept))


def test_a_recent_stray_file_is_left_for_the_upload_under_way(product, media_storage):
    media_storage.put("o/" + "e" * 64, b"being uploaded", "image/jpeg")
    assert services.cleanup_orphans() == {"media": 0, "files": 0}


def test_media_check_reports_missing_and_unreferenced_files(app, product, media_storage):
    runner = app.test_cli_runner()
    media = ready(product.id, "tea.jpg", jpeg((400, 300)))
    assert runner.invoke(args=["hub", "media", "check"]).exit_code == 0

    media_storage.delete(media.variants[0]["key"])
    media_storage.put("v/" + "d" * 64 + ".webp", b"nobody's", "image/webp")
    result = runner.invoke(args=["hub", "media", "check"])
    assert result.exit_code == 1
    assert media.variants[0]["key"] in result.output
    assert "v/" + "d" * 64 + ".webp" in result.output


def test_media_process_command(app, product, media_storage):
    services.add(product.id, "tea.jpg", jpeg((400, 300)))
    result = app.test_cli_runner().invoke(args=["hub", "media", "process"])
    assert result.exit_code == 0, result.output
    assert "1 file processed" in result.output
    assert db.session.scalar(select(Media.status)) == "ready"


# ---------------------------------------------------------------------------- request size


def test_media_upload_views_take_larger_requests(database_url):
    from hub.request_limits import media_upload
    from tests.support import make_test_app

    app = make_test_app(database_url, WTF_CSRF_ENABLED=False)

    @app.post("/upload-test")
    @media_upload
    def upload():
        from flask import request

        return str(len(request.files["file"].read()))

    @app.post("/other-test")
    def other():
        return "no"

    def post(url, size):
        # A multipart body made here: the test client would spool its own to a file it
        # leaves open.
        body = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + b"x" * size + b"\r\n--b--\r\n"
        )
        answer = client.post(url, data=body, content_type="multipart/form-data; boundary=b")
        answer.close()
        return answer

    client = app.test_client()
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    answer = post("/upload-test", size)
    assert answer.status_code == 200 and answer.text == str(size)
    assert post("/other-test", size).status_code == 413
    assert post("/upload-test", app.config["MEDIA_MAX_REQUEST_BYTES"] + 1).status_code == 413


def test_the_media_settings(monkeypatch, tmp_path):
    from flask import Flask

    from hub.config import ConfigError, load_settings

    app = Flask(__name__, instance_path=str(tmp_path))
    load_settings(app)
    assert app.config["MEDIA_URL"] is None
    assert app.config["MEDIA_MAX_BYTES"] == 20 * 1024 * 1024
    assert app.config["MEDIA_MAX_REQUEST_BYTES"] == 21 * 1024 * 1024
    monkeypatch.setenv("HUB_MEDIA_URL", "s3://bucket/hub")
    monkeypatch.setenv("HUB_MEDIA_MAX_BYTES", "1000")
    load_settings(app)
    assert app.config["MEDIA_URL"] == "s3://bucket/hub"
    assert app.config["MEDIA_MAX_REQUEST_BYTES"] == 1000 + 1024 * 1024
    monkeypatch.setenv("HUB_MEDIA_URL", "ftp://host/x")
    with pytest.raises(ConfigError):
        load_settings(app)


def test_a_local_variant_is_sent_before_flask_with_its_etag(app, client, product):
    """Whole variants from local storage are answered in front of Flask (no hook, the
    server's sendfile); a range, a missing file or another path still go through Flask."""
    media = ready(product.id, "tea.jpg", jpeg((400, 300)))
    jpg = next(v for v in media.variants if v["format"] == "jpeg")
    url, body = f"/media/{jpg['key']}", storage().get(jpg["key"])
    dispatched = []
    record = lambda *_a, **_k: dispatched.append(1)  # noqa: E731
    request_started.connect(record, app)
    try:
        answer = client.get(url)
        assert answer.status_code == 200 and answer.data == body
        assert answer.headers["ETag"] == f'"{jpg["sha256"]}"'
        assert answer.headers["Content-Length"] == str(len(body))
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        head = client.head(url)
        assert head.status_code == 200 and head.data == b""
        again = client.get(url, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        assert dispatched == []
        part = client.get(url, headers={"Range": "bytes=0-9"})
        assert part.status_code == 206 and part.data == body[:10]
        missing = client.get("/media/v/" + "0" * 64 + ".jpg")
        assert missing.status_code == 404
        assert len(dispatched) == 2
    finally:
        request_started.disconnect(record, app)
    for each in (answer, head, again, part, missing):
        each.close()
