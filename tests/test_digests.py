"""Digests (hub.digests): the coordinators' weekly summary of their country (ratings expiring
within 60 days, refused partner records, held syncs) and the translation digest people choose,
sent when due and only with something to say, once however many schedulers run; through
aiosmtpd on loopback, in the recipient's language."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import digests
from hub.accounts import notifications
from hub.accounts.models import User
from hub.db import utcnow
from hub.extensions import db
from hub.publishing.models import Product
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from tests.mail_servers import delivered
from tests.support import csrf_token, sign_in

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
ADMIN = "admin@hub.test"


def _delivered(app, relay):
    return {r["to"][0]: r["message"] for r in delivered(app, relay)}


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


SUMMARIES = {
    "vi": (
        "Tóm tắt hằng tuần từ Cổng trao đổi OCOP",
        "1 sản phẩm có phân hạng hết hạn trong 60 ngày tới",
        "https://partner.example/vn.csv: 3 bản ghi bị từ chối",
        "https://partner.example/vn.csv: 12 mục sẽ bị xoá",
    ),
    "en": (
        "Your weekly summary from the OCOP Exchange Hub",
        "1 rating expires within 60 days",
        "https://partner.example/vn.csv: 3 records refused",
        "https://partner.example/vn.csv: 12 entries would be deleted",
    ),
}


@pytest.mark.parametrize("language", sorted(SUMMARIES))
def test_the_weekly_summary_of_a_country(app, relay, product, time_machine, language):
    subject, expiring, refused, held = SUMMARIES[language]
    now = utcnow()
    with app.test_request_context("/"):
        _user(VN).preferred_language = language
        item = db.session.get(Product, product)
        item.valid_until = now.date() + timedelta(days=20)
        source = PartnerSource(country_code="VN", kind="csv", url="https://partner.example/vn.csv")
        db.session.add(source)
        db.session.flush()
        run = SyncRun(source_id=source.id, status="held", held=12)
        db.session.add(run)
        db.session.flush()
        db.session.add_all(
            RejectedRecord(run_id=run.id, source_id=source.id, record={}, reasons={})
            for _ in range(3)
        )
        db.session.commit()
        assert digests.send_due(now) >= 1
        assert digests.send_due(now) == 0  # claimed: not twice
    got = _delivered(app, relay)
    assert set(got) == {VN}  # Thailand has nothing to say; administrators chose none
    message = got[VN]
    assert message["Subject"] == subject
    assert message["List-Unsubscribe"]
    text = message.get_body(("plain",)).get_content()
    assert expiring in text and refused in text and held in text

    # A week later it is due again; before, not.
    with app.test_request_context("/"):
        assert digests.send_due(now + timedelta(days=6)) == 0
        assert digests.send_due(now + timedelta(days=7, minutes=1)) >= 1


@pytest.mark.parametrize(
    ("language", "subject", "waiting"),
    [
        ("ja", "翻訳待ちのテキスト：", "英語、日本語"),
        ("en", "4 texts wait", "English and Japanese"),
    ],
)
def test_the_translation_digest_when_chosen(app, relay, product, language, subject, waiting):
    now = utcnow()
    with app.test_request_context("/"):
        # The four sample entries are written in Vietnamese only: they wait for en and ja.
        user = _user(VN)
        user.preferred_language = language
        notifications.choose(user, "translations", "daily")
        notifications.choose(user, "country_digest", "off")
        db.session.commit()
        assert digests.send_due(now) == 1
        assert digests.send_due(now + timedelta(hours=23)) == 0  # daily
    got = _delivered(app, relay)
    assert set(got) == {VN}
    assert got[VN]["Subject"].startswith(subject)
    text = got[VN].get_body(("plain",)).get_content()
    assert f"/{language}/manage/entries/{product}" in text and waiting in text


def test_nothing_to_say_sends_nothing(app, relay):
    with app.test_request_context("/"):
        for email in (VN, TH):
            notifications.choose(_user(email), "country_digest", "weekly")
        db.session.commit()
        assert digests.send_due(utcnow()) == 0
    assert _delivered(app, relay) == {}


def test_the_translation_digest_keeps_to_the_languages_chosen(app, relay, product):
    client = app.test_client()
    sign_in(client, VN)
    token = csrf_token(client, "/en/account")
    saved = client.post(
        "/en/account/notifications",
        data={"csrf_token": token, "topic-translations": "weekly", "topic-country_digest": "off",
              "translate": ["ja"]},
    )  # fmt: skip
    assert saved.status_code == 302
    bad = client.post("/en/account/notifications", data={"csrf_token": token, "translate": ["xx"]})
    assert bad.status_code == 422
    with app.test_request_context("/"):
        assert notifications.translation_languages(_user(VN)) == ["ja"]
        assert digests.send_due(utcnow()) == 1
    got = _delivered(app, relay)
    text = got[VN].get_body(("plain",)).get_content()
    assert "Japanese" in text and "English" not in text
