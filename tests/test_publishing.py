"""Publishing rules: creating, translating, publishing, deleting entries; who may; what is valid."""

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from hub.accounts.models import AuditEvent, User
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry, EntryTranslation

POLICY_VI = {
    "title": "Chương trình Mỗi xã một sản phẩm",
    "summary": "Phê duyệt Chương trình OCOP giai đoạn 2018–2020.",
    "body": "Quyết định số 490/QĐ-TTg của Thủ tướng Chính phủ.",
}
POLICY_FIELDS = {
    "instrument": "decision",
    "reference_number": "490/QĐ-TTg",
    "issuing_body": "Prime Minister of Viet Nam",
    "issued_on": date(2018, 5, 7),
    "link": "https://example.org/490",
}


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def vn(ctx):
    return user("coordinator.vn@hub.test")


@pytest.fixture
def th(ctx):
    return user("coordinator.th@hub.test")


@pytest.fixture
def admin(ctx):
    return user("admin@hub.test")


def snapshot():
    entries = [
        {c.key: getattr(e, c.key) for c in Entry.__mapper__.column_attrs}
        for e in db.session.scalars(select(Entry).order_by(Entry.id))
    ]
    texts = [
        {c.key: getattr(t, c.key) for c in EntryTranslation.__mapper__.column_attrs}
        for t in db.session.scalars(select(EntryTranslation))
    ]
    audit = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return entries, sorted(texts, key=repr), audit


def test_a_policy_is_written_translated_and_published(vn):
    policy = services.create_entry(vn, "policy", "vi", POLICY_VI, POLICY_FIELDS)
    assert (policy.country_code, policy.status, policy.source_language) == ("VN", "draft", "vi")
    assert policy.reference_number == "490/QĐ-TTg"
    first_seq = policy.change_seq
    services.save_text(
        vn, policy.id, "ja", {"title": "一村一品プログラム", "summary": "承認", "body": "決定490号"}
    )
    services.set_status(vn, policy.id, "published")
    db.session.expire_all()
    policy = db.session.get(Entry, policy.id)
    assert policy.status == "published" and policy.published_dt is not None
    assert policy.change_seq > first_seq
    assert {t.language for t in policy.translations} == {"vi", "ja"}
    assert services.shown(policy, "ja").language == "ja"
    assert services.shown(policy, "en").language == "vi"  # shown in the source language
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["policy.create", "policy.translate", "policy.published"]


def test_a_translation_of_an_older_source_is_outdated(vn):
    policy = services.create_entry(vn, "policy", "vi", POLICY_VI, {})
    ja = services.save_text(vn, policy.id, "ja", {"title": "一村一品"})
    assert services.outdated_against(policy, ja) is None
    services.save_text(vn, policy.id, "vi", {**POLICY_VI, "body": "Nội dung mới."})
    assert services.outdated_against(policy, ja) is not None
    ja = services.save_text(vn, policy.id, "ja", {"title": "一村一品", "body": "新しい内容"})
    assert services.outdated_against(policy, ja) is None


def test_change_sequence_numbers_only_grow(vn):
    a = services.create_entry(vn, "policy", "vi", POLICY_VI, {})
    b = services.create_entry(vn, "policy", "en", {"title": "Second"}, {})
    seq_a = a.change_seq
    services.set_status(vn, a.id, "published")
    assert seq_a < b.change_seq < a.change_seq


def test_deleting_leaves_a_tombstone(vn):
    policy = services.create_entry(vn, "policy", "vi", POLICY_VI, {})
    seq = policy.change_seq
    services.delete_entry(vn, policy.id)
    tomb = db.session.get(Entry, policy.id)
    assert tomb.deleted_dt is not None and tomb.change_seq > seq
    with pytest.raises(services.EntryNotFound):
        services.set_status(vn, policy.id, "published")


@pytest.mark.parametrize(
    "write",
    [
        lambda actor, entry: services.update_fields(actor, entry.id, {"instrument": "law"}),
        lambda actor, entry: services.save_text(actor, entry.id, "en", {"title": "Hijacked"}),
        lambda actor, entry: services.save_text(actor, entry.id, "vi", {"title": "Hijacked"}),
        lambda actor, entry: services.set_status(actor, entry.id, "published"),
        lambda actor, entry: services.set_status(actor, entry.id, "archived"),
        lambda actor, entry: services.delete_entry(actor, entry.id),
    ],
)
def test_another_countrys_coordinator_cannot_touch_an_entry(vn, th, write):
    policy = services.create_entry(vn, "policy", "vi", POLICY_VI, POLICY_FIELDS)
    before = snapshot()
    with pytest.raises(services.EntryNotFound):
        write(th, policy)
    db.session.rollback()
    assert snapshot() == before


def test_a_coordinator_publishes_only_for_their_own_country(th):
    with pytest.raises(services.EntryInvalid) as excinfo:
        services.create_entry(th, "policy", "en", {"title": "x"}, {}, country_code="VN")
    assert excinfo.value.errors == {"country": "You can publish only for your own country."}


def test_an_administrator_may_write_for_any_country(admin):
    entry = services.create_entry(
        admin, "policy", "en", {"title": "Network guideline"}, {}, country_code="jp"
    )
    assert entry.country_code == "JP"


@pytest.mark.parametrize(
    ("kind", "text", "fields", "errors"),
    [
        ("policy", {"title": ""}, {}, {"title": "A title is required."}),
        (
            "policy",
            {"title": "x", "body": "y" * 50_001},
            {},
            {"body": "This text is too long: 50001 characters, at most 50000."},
        ),
        (
            "policy",
            {"title": "x\x00"},
            {},
            {"title": "This text contains control characters; remove them."},
        ),
        (
            "policy",
            {"title": "x"},
            {"link": "javascript:alert(1)"},
            {"link": "Enter a web address starting with http:// or https://."},
        ),
        (
            "policy",
            {"title": "x"},
            {"instrument": "edict"},
            {"instrument": "“edict” is not one of the options."},
        ),
        (
            "product",
            {"title": ""},
            {"product_group": "food"},
            {"title": "The product name is required."},
        ),
        (
            "product",
            {"title": "Tea"},
            {
                "product_group": "food",
                "rating_scheme": "ocop",
                "stars": 6,
                "rated_on": date(2024, 1, 1),
            },
            {"stars": "A rating has 1 to 5 stars."},
        ),
        (
            "product",
            {"title": "Tea"},
            {"product_group": "gold"},
            {"product_group": "“gold” is not one of the options."},
        ),
        (
            "fair",
            {"title": "Fair"},
            {"timezone": "Mars/Olympus", "start_date": date(2026, 5, 1), "all_day": True},
            {"timezone": "“Mars/Olympus” is not a time zone (such as Asia/Ho_Chi_Minh)."},
        ),
        (
            "fair",
            {"title": "Fair"},
            {
                "timezone": "Asia/Bangkok",
                "start_date": date(2026, 5, 3),
                "end_date": date(2026, 5, 1),
                "all_day": True,
            },
            {"end_date": "The fair must end after it starts."},
        ),
        (
            "fair",
            {"title": "Fair"},
            {
                "timezone": "Asia/Bangkok",
                "start_date": date(2026, 5, 3),
                "all_day": True,
                "registration_deadline": date(2026, 5, 4),
            },
            {"registration_deadline": "Registration must close before the fair starts."},
        ),
        (
            "experience",
            {"title": "x"},
            {"outcomes": [{"metric": "jobs", "value": -3, "unit": ""}]},
            {"outcomes-0": "The figure must be a number, zero or more."},
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(vn, kind, text, fields, errors):
    before = snapshot()
    with pytest.raises(services.EntryInvalid) as excinfo:
        services.create_entry(vn, kind, "en", text, fields)
    assert excinfo.value.errors == errors
    assert snapshot() == before


def test_fairs_keep_the_venues_time_and_know_their_utc_instants(vn):
    fair = services.create_entry(
        vn,
        "fair",
        "en",
        {"title": "OCOP Fair"},
        {
            "timezone": "Asia/Ho_Chi_Minh",
            "start_date": date(2026, 12, 1),
            "end_date": date(2026, 12, 3),
            "start_time": time(8),
            "end_time": time(17),
        },
    )
    assert fair.starts_local == datetime(2026, 12, 1, 8, 0)
    assert fair.starts_utc == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert fair.ends_utc == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    all_day = services.create_entry(
        vn,
        "fair",
        "en",
        {"title": "Oita fair"},
        {"timezone": "Asia/Tokyo", "start_date": date(2026, 11, 3), "all_day": True},
    )
    assert all_day.ends_utc == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # midnight in Tokyo


def test_a_rescheduled_fair_keeps_its_previous_dates(vn):
    fields = {"timezone": "Asia/Ho_Chi_Minh", "start_date": date(2026, 12, 1), "all_day": True}
    fair = services.create_entry(vn, "fair", "en", {"title": "OCOP Fair"}, fields)
    services.update_fields(
        vn, fair.id, {**fields, "start_date": date(2027, 1, 10), "fair_status": "rescheduled"}
    )
    assert fair.fair_status == "rescheduled"
    assert fair.previous_starts_local == datetime(2026, 12, 1)
    assert fair.starts_local == datetime(2027, 1, 10)


def test_an_ocop_rating_is_valid_36_months(vn):
    product = services.create_entry(
        vn, "product", "vi", {"title": "Chè Thái Nguyên"},
        {"product_group": "beverages", "rating_scheme": "ocop", "stars": 4, "rated_on": date(2021, 8, 31)},
    )  # fmt: skip
    assert product.valid_until == date(2024, 8, 31)
    assert services.is_expired(product, today=date(2024, 9, 1))
    assert not services.is_expired(product, today=date(2024, 8, 31))
