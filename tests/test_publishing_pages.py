"""Publishing as people do it, through the pages: a coordinator writes, translates and
publishes; visitors read in every language; other countries' coordinators are refused."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import AuditEvent
from hub.db import utctoday
from hub.extensions import db
from hub.history.models import Revision
from hub.media.models import Media
from hub.publishing.models import Entry, EntryTranslation
from tests.support import csrf_token, sample_entries, sign_in

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"


def state(app):
    """Everything publishing wrote, to compare before and after a refused request."""
    with app.app_context():
        entries = [
            tuple(getattr(e, c.key) for c in Entry.__mapper__.column_attrs)
            for e in db.session.scalars(select(Entry).order_by(Entry.id))
        ]
        texts = sorted(
            tuple(getattr(t, c.key) for c in EntryTranslation.__mapper__.column_attrs)
            for t in db.session.scalars(select(EntryTranslation))
        )
        audit = db.session.scalar(select(func.count()).select_from(AuditEvent))
        revisions = db.session.scalar(select(func.count()).select_from(Revision))
        media = [
            (m.id, m.entry_id, m.position, m.status, m.alts)
            for m in db.session.scalars(select(Media).order_by(Media.id))
        ]
    return entries, texts, audit, revisions, media


def test_a_coordinator_writes_translates_publishes_and_visitors_read_it(app, client):
    assert sign_in(client, VN, lang="vi").status_code == 302
    token = csrf_token(client, "/vi/manage/policy/new")
    response = client.post(
        "/vi/manage/policy/new",
        data={
            "csrf_token": token,
            "language": "vi",
            "title": "Hỗ trợ chủ thể OCOP tiếp cận tín dụng",
            "summary": "Chính sách tín dụng ưu đãi cho hợp tác xã tham gia OCOP.",
            "body": "Các hợp tác xã **OCOP** được vay vốn ưu đãi.\n\n<script>alert('x')</script>",
            "instrument": "decision",
            "reference_number": "919/QĐ-TTg",
            "issuing_body": "Thủ tướng Chính phủ",
            "issued_on": "2022-08-01",
            "link": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    entry_url = response.headers["Location"]
    entry_id = int(entry_url.rstrip("/").rsplit("/", 1)[1])
    assert "Đã lưu bản nháp" in client.get(entry_url).get_data(as_text=True)

    # The Japanese translation.
    text_url = f"/vi/manage/entries/{entry_id}/text/ja"
    page = client.get(text_url).get_data(as_text=True)
    assert "Hỗ trợ chủ thể OCOP tiếp cận tín dụng" in page  # the source shown beside the form
    response = client.post(
        text_url,
        data={
            "csrf_token": csrf_token(client, text_url),
            "title": "OCOP事業者の信用アクセス支援",
            "summary": "OCOPに参加する協同組合への優遇融資政策。",
            "body": "OCOPの協同組合は優遇融資を受けられます。",
        },
    )
    assert response.status_code == 302

    # Not public before it is published.
    assert client.get(f"/en/policies/{entry_id}").status_code == 404
    response = client.post(
        f"/vi/manage/entries/{entry_id}/status",
        data={"csrf_token": csrf_token(client, entry_url), "status": "published"},
    )
    assert response.status_code == 302

    visitor = app.test_client()
    ja = visitor.get(f"/ja/policies/{entry_id}").get_data(as_text=True)
    assert "<h1>OCOP事業者の信用アクセス支援</h1>" in ja
    assert "で表示しています" not in ja
    vi = visitor.get(f"/vi/policies/{entry_id}").get_data(as_text=True)
    assert "<h1>Hỗ trợ chủ thể OCOP tiếp cận tín dụng</h1>" in vi
    assert "<strong>OCOP</strong>" in vi
    assert "<script>alert" not in vi and "&lt;script&gt;" in vi  # inert
    en = visitor.get(f"/en/policies/{entry_id}").get_data(as_text=True)
    assert '<article class="entry" lang="vi">' in en
    assert "Shown in Vietnamese: there is no version in this language yet." in en
    assert "919/QĐ-TTg" in en
    listing = visitor.get("/en/policies").get_data(as_text=True)
    assert "Hỗ trợ chủ thể OCOP tiếp cận tín dụng" in listing
    country = visitor.get("/ja/countries/VN").get_data(as_text=True)
    assert "OCOP事業者の信用アクセス支援" in country


def test_the_translation_queue_shows_missing_and_outdated_texts(app, client):
    with app.test_request_context("/"):
        entries = sample_entries()
    sign_in(client, VN)
    page = client.get("/en/manage/translations").get_data(as_text=True)
    for kind in ("experience", "fair", "product"):  # no translation yet
        assert f'href="/en/manage/entries/{entries[kind].id}"' in page
    policy = entries["policy"].id
    # The policy has vi and ja; en is missing, so it is queued as well.
    assert f'href="/en/manage/entries/{policy}"' in page
    source_url = f"/en/manage/entries/{policy}/text/vi"
    client.post(
        source_url,
        data={
            "csrf_token": csrf_token(client, source_url),
            "title": "Chương trình OCOP (sửa)",
            "summary": "",
            "body": "Mới.",
        },
    )
    page = client.get(f"/en/manage/entries/{policy}").get_data(as_text=True)
    assert re.search(
        r'class="state-outdated"><a href="/en/manage/entries/\d+/text/ja"><span lang="ja">日本語</span>:\s*outdated',
        page,
    )
    page = client.get(f"/en/manage/entries/{policy}/text/ja").get_data(as_text=True)
    assert "Outdated: the source text changed after this translation was made." in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "Cần có tiêu đề."),
        ({"title": "x", "issued_on": "31/12/2020"}, "issued_on", "Ngày không hợp lệ."),
        (
            {"title": "x", "link": "ftp://example.org"},
            "link",
            "Hãy nhập địa chỉ web bắt đầu bằng http:// hoặc https://.",
        ),
        (
            {"title": "x", "body": "a" * 50_001},
            "body",
            "Văn bản quá dài: 50001 ký tự, tối đa 50000.",
        ),
    ],
)
def test_a_bad_form_keeps_what_was_typed_and_changes_nothing(app, client, data, field, message):
    sign_in(client, VN, lang="vi")
    before = state(app)
    form = {
        "csrf_token": csrf_token(client, "/vi/manage/policy/new"),
        "language": "vi",
        "summary": "Giữ lại tóm tắt này",
        **data,
    }
    response = client.post("/vi/manage/policy/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in page
    assert "Giữ lại tóm tắt này" in page
    assert state(app) == before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"stars": "6", "rating_scheme": "ocop", "rated_on": "2024-01-01"},
            "stars",
            "格付けは1〜5つ星です。",
        ),
        ({"stars": "four"}, "stars", "有効な整数ではありません。"),
    ],
)
def test_product_ratings_are_checked(app, client, data, field, message):
    sign_in(client, VN, lang="ja")
    before = state(app)
    form = {
        "csrf_token": csrf_token(client, "/ja/manage/product/new"),
        "language": "ja",
        "title": "緑茶",
        "product_group": "beverages",
        **data,
    }
    response = client.post("/ja/manage/product/new", data=form)
    assert response.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.get_data(
        as_text=True
    )
    assert state(app) == before


def test_a_fair_with_an_unknown_zone_or_ending_before_it_starts_is_refused(app, client):
    sign_in(client, VN)
    before = state(app)
    form = {
        "csrf_token": csrf_token(client, "/en/manage/fair/new"), "language": "en", "title": "Fair",
        "start_date": "2027-03-05", "end_date": "2027-03-01", "all_day": "y", "timezone": "Asia/Hanoi",
        "fair_status": "scheduled",
    }  # fmt: skip
    page = client.post("/en/manage/fair/new", data=form).get_data(as_text=True)
    assert "“Asia/Hanoi” is not a time zone (such as Asia/Ho_Chi_Minh)." in page
    assert "The fair must end after it starts." in page
    assert state(app) == before


def test_every_write_route_refuses_another_countrys_coordinator(app, client):
    """Walk every write route of the URL map that takes an entry, as Thailand's coordinator
    against Viet Nam's entries: each is refused and the database does not change."""
    from hub.api.auth import issue_token
    from hub.publishing.routes import COLLECTION_OF

    with app.test_request_context("/"):
        entries = sample_entries()
        bearer = {"Authorization": f"Bearer {issue_token('Thai tools', 'TH')[1]}"}
        first_revision = {
            entry.id: db.session.scalar(
                select(func.min(Revision.id)).where(Revision.subject_id == str(entry.id))
            )
            for entry in entries.values()
        }
        # Two media on each entry, so that the media routes have one to aim at and an order.
        from hub.media import services as media
        from tests.test_media import jpeg

        photo = jpeg(size=(40, 30))
        media_of = {}
        for entry in entries.values():
            media_of[entry.id] = media.add(entry.id, "a.jpg", photo).id
            media.add(entry.id, "b.jpg", photo, alts={"en": "Tea"})
    sign_in(client, TH)
    token = csrf_token(client, "/en/manage/")
    before = state(app)
    checked = set()
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or "entry_id" not in rule.arguments:
            continue
        for entry in entries.values():
            values = {
                "lang": "en",
                "entry_id": entry.id,
                "text_lang": "vi",
                "collection": COLLECTION_OF[entry.kind],
                "revision_id": first_revision[entry.id],
                "media_id": media_of[entry.id],
            }
            url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
            for method in methods:
                if url.startswith("/api/"):  # the API: Thailand's token instead of the session
                    response = client.open(
                        url,
                        method=method,
                        json={
                            "stars": 1,
                            "translations": {"vi": {"title": "Taken over"}},
                            "cover": True,
                        },
                        headers=bearer,
                    )
                else:
                    response = client.open(
                        url, method=method,
                        data={"csrf_token": token, "status": "published", "title": "Taken over", "language": "vi", "direction": "down", "alt-en": "Taken over"},
                    )  # fmt: skip
                assert response.status_code == 404, (method, url, response.status_code)
        checked.add(rule.endpoint)
    assert checked >= {
        "manage.entry",
        "manage.text",
        "manage.set_status",
        "manage.delete",
        "manage.confirm_translation",
        "manage.restore_version",
        "api.entry_change",
        "manage.media_upload_files",
        "manage.media_alts",
        "manage.media_move",
        "manage.media_cover",
        "manage.media_remove",
        "api.media_add",
        "api.media_change",
    }
    assert state(app) == before
    # And nothing of theirs is listed for editing.
    page = client.get("/en/manage/").get_data(as_text=True)
    assert all(f'/en/manage/entries/{e.id}"' not in page for e in entries.values())


@pytest.mark.dates  # the sample fair is upcoming, its rating still valid
def test_public_lists_filter_and_paginate(app, client, instant):
    with app.test_request_context("/"):
        entries = sample_entries()
    page = client.get("/en/products?group=beverages&stars=4&valid=1").get_data(as_text=True)
    assert f"/en/products/{entries['product'].id}" in page
    page = client.get("/en/products?stars=5").get_data(as_text=True)
    assert f"/en/products/{entries['product'].id}" not in page
    page = client.get("/en/products?group=food").get_data(as_text=True)
    assert "Nothing is published here yet." in page
    response = client.get("/en/products?stars=9&group=gold")
    assert response.status_code == 400
    assert "A rating has 1 to 5 stars." in response.get_data(as_text=True)
    fairs = client.get("/en/fairs").get_data(as_text=True)
    assert (
        "OCOP Fair in Hạ Long" in fairs
        and "(local time: Vietnam Time, Asia/Ho_Chi_Minh)" in fairs
        and "8:00\u202fAM" in fairs
    )
    assert "OCOP Fair in Hạ Long" not in client.get("/en/fairs?when=past").get_data(as_text=True)


def test_lists_are_paginated_by_key(app, client):
    from hub.accounts.models import User
    from hub.publishing import services

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        ids = []
        for n in range(25):
            entry = services.create_entry(
                vn, "policy", "en", {"title": f"Policy number {n:02d}"}, {}
            )
            services.set_status(vn, entry.id, "published")
            ids.append(entry.id)
    first = client.get("/en/policies").get_data(as_text=True)
    shown = re.findall(r"Policy number (\d\d)", first)
    assert shown == [f"{n:02d}" for n in range(24, 4, -1)]  # 20 newest first
    more = re.search(r'href="(/en/policies\?after=\d+)" rel="next"', first).group(1)
    second = client.get(more).get_data(as_text=True)
    assert re.findall(r"Policy number (\d\d)", second) == ["04", "03", "02", "01", "00"]
    assert 'rel="next"' not in second


SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


def test_script_typed_into_any_field_is_inert_on_every_page(app, client):
    """Every text field of every kind gets markup; no page shows it as markup."""
    from hub.accounts.models import User
    from hub.publishing import services

    evil = SCRIPT + IMG
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        texts = {
            "title": "Evil " + evil,
            "summary": evil,
            "body": evil + "\n\n[x](javascript:alert(1))",
            "lessons": evil,
        }
        common = {"venue": evil, "city": evil, "organiser": evil, "producer_name": evil, "locality": evil,
                  "issuing_body": evil, "reference_number": evil[:100], "outcomes": [{"metric": "jobs", "value": 1, "unit": evil[:40]}]}  # fmt: skip
        kinds = {
            "policy": {k: common[k] for k in ("issuing_body", "reference_number")},
            "experience": {"outcomes": common["outcomes"]},
            "fair": {
                **{k: common[k] for k in ("venue", "city", "organiser")},
                "timezone": "Asia/Tokyo",
                "start_date": utctoday() + timedelta(days=30),  # upcoming: in the list
                "all_day": True,
            },
            "product": {
                **{k: common[k] for k in ("producer_name", "locality")},
                "product_group": "food",
            },
        }
        ids = {}
        for kind, fields in kinds.items():
            entry = services.create_entry(vn, kind, "en", texts, fields)
            services.save_text(vn, entry.id, "ja", texts)
            services.set_status(vn, entry.id, "published")
            ids[kind] = entry.id
    sign_in(client, VN)
    urls = ["/en/search?q=evil", "/en/countries/VN", "/en/manage/", "/en/manage/translations"]
    for kind, entry_id in ids.items():
        collection = {
            "policy": "policies",
            "experience": "experiences",
            "fair": "fairs",
            "product": "products",
        }[kind]
        urls += [f"/en/{collection}", f"/en/{collection}/{entry_id}", f"/ja/{collection}/{entry_id}",
                 f"/en/manage/entries/{entry_id}", f"/en/manage/entries/{entry_id}/text/ja"]  # fmt: skip
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        assert (
            "<script>" not in page and "<img src=x" not in page and 'href="javascript:' not in page
        ), url
    detail = client.get(f"/en/policies/{ids['policy']}").get_data(as_text=True)
    assert "&lt;script&gt;" in detail  # shown as text


@pytest.mark.parametrize(
    "url",
    [
        "/en/policies?after=²",
        "/en/policies?after=99999999999999999999",
        "/en/fairs?after=2024-01-01T00:00:00_1",
        "/en/fairs?after=2024-01-01T00:00:00+00:00_99999999999999999999",
        "/en/fairs?after=garbage_",
        "/en/search?q=viet&after=1_99999999999999999999",
        "/en/search?q=viet&after=x_y",
        "/en/search?q=%00",
        "/en/search?q=%00viet",
        "/en/products?country=ZZ",
        "/en/policies/99999999999999999999",
        "/en/policies/0",
        "/en/manage/?after=²",
        "/en/manage/translations?after=99999999999999999999",
        "/en/manage/entries/99999999999999999999",
        "/en/manage/entries/1/text/xx",
        "/en/admin/audit?before=²",
        "/en/admin/users?after=99999999999999999999",
    ],
)
def test_odd_input_never_breaks_a_page(client, url):
    sign_in(client, "admin@hub.test")
    response = client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"start_date": "9999-12-31", "all_day": "y", "timezone": "Asia/Tokyo"},
            "start_date",
            "Enter a date between 1900 and 2200.",
        ),
        (
            {"start_date": "0001-01-01", "all_day": "y", "timezone": "Asia/Tokyo"},
            "start_date",
            "Enter a date between 1900 and 2200.",
        ),
        (
            {"start_date": "2027-01-01", "all_day": "y", "timezone": "localtime"},
            "timezone",
            "“localtime” is not a time zone (such as Asia/Ho_Chi_Minh).",
        ),
        (
            {
                "start_date": "2027-01-01",
                "all_day": "y",
                "timezone": "Asia/Tokyo",
                "location_country": "ZZ",
            },
            "location_country",
            "Choose a country.",
        ),
    ],
)
def test_impossible_fair_values_get_a_message(app, client, fields, field, message):
    sign_in(client, VN)
    before = state(app)
    form = {
        "csrf_token": csrf_token(client, "/en/manage/fair/new"),
        "language": "en",
        "title": "Fair",
        "fair_status": "scheduled",
        **fields,
    }
    response = client.post("/en/manage/fair/new", data=form)
    assert response.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.get_data(
        as_text=True
    )
    assert state(app) == before


def test_a_rating_in_year_9999_gets_a_message(app, client):
    sign_in(client, VN)
    form = {"csrf_token": csrf_token(client, "/en/manage/product/new"), "language": "en", "title": "Tea",
            "product_group": "beverages", "rating_scheme": "ocop", "stars": "3", "rated_on": "9999-12-31"}  # fmt: skip
    response = client.post("/en/manage/product/new", data=form)
    assert response.status_code == 422
    assert "Enter a date between 1900 and 2200." in response.get_data(as_text=True)


def test_an_experience_cannot_link_another_countrys_policy_or_programme(app, client):
    from hub.registry.models import Programme

    with app.test_request_context("/"):
        vn_policy = sample_entries()["policy"].id
        th_programme = db.session.scalar(select(Programme.id).where(Programme.country_code == "TH"))
        vn_programme = db.session.scalar(select(Programme.id).where(Programme.country_code == "VN"))
    sign_in(client, TH)
    before = state(app)
    form = {"csrf_token": csrf_token(client, "/en/manage/experience/new"), "language": "en", "title": "Borrowed",
            "policy_ids": [str(vn_policy)], "programme_id": str(vn_programme)}  # fmt: skip
    page = client.post("/en/manage/experience/new", data=form).get_data(as_text=True)
    assert "Choose among your country&#39;s policies." in page
    assert "Choose one of your country&#39;s programmes." in page
    assert state(app) == before
    form["policy_ids"], form["programme_id"] = [], str(th_programme)
    assert client.post("/en/manage/experience/new", data=form).status_code == 302


def test_an_experience_keeps_an_older_linked_policy_when_saved(app, client):
    from hub.accounts.models import User
    from hub.publishing import services
    from hub.publishing.models import Experience

    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        old = services.create_entry(vn, "policy", "en", {"title": "The oldest policy"}, {})
        for n in range(201):
            services.create_entry(vn, "policy", "en", {"title": f"Newer {n}"}, {})
        experience = services.create_entry(
            vn, "experience", "en", {"title": "Linked"}, {"policy_ids": [old.id]}
        )
    sign_in(client, VN)
    url = f"/en/manage/entries/{experience.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'<option selected value="{old.id}">The oldest policy</option>' in page
    form = {"csrf_token": csrf_token(client, url), "policy_ids": [str(old.id)], "programme_id": ""}
    assert client.post(url, data=form).status_code == 302
    with app.app_context():
        assert [p.id for p in db.session.get(Experience, experience.id).policies] == [old.id]


def test_a_new_fair_suggests_the_countrys_time_zone(client):
    sign_in(client, VN)
    page = client.get("/en/manage/fair/new").get_data(as_text=True)
    assert 'value="Asia/Ho_Chi_Minh"' in page
    assert (
        '<datalist id="zones-of-country"><option value="Asia/Ho_Chi_Minh"></option></datalist>'
        in page
    )
