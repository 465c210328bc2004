"""Visitors following a country or a collection by e-mail (hub.digests.follow): double
opt-in, the same answer for an address that already follows, a weekly digest of what was
first published in the week in the visitor's language, one-click unsubscription; through
aiosmtpd on loopback."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import digests
from hub.db import utcnow
from hub.digests.models import Subscription
from hub.extensions import db
from hub.publishing.models import Entry
from tests.mail_servers import delivered
from tests.support import csrf_token


def _ask(client, email, lang="vi", **what):
    page = f"/{lang}/follow"
    token = csrf_token(client, page)
    return client.post(page, data={"csrf_token": token, "email": email, **what})


def _link(message):
    text = message.get_body(("plain",)).get_content()
    return (
        re.search(r"^(http\S+/follow/confirm/\S+?)\r?$", text, re.M)
        .group(1)
        .removeprefix("http://localhost")
    )


FOLLOW = {
    "vi": ("Gần xong", "Xác nhận theo dõi Cổng trao đổi OCOP qua thư điện tử",
           "Mới trong tuần trên Cổng trao đổi OCOP: Sản phẩm · Việt Nam"),
    "ja": ("あと少しです", "OCOP交流ハブのメールでのフォローの確認",
           "OCOP交流ハブの今週の新着：産品・ベトナム"),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(FOLLOW))
def test_a_visitor_follows_a_country_and_gets_its_weekly_news(
    app, client, relay, product, time_machine, lang
):
    almost, confirm_subject, digest_subject = FOLLOW[lang]
    asked = _ask(client, "Reader@Example.org", lang, country="VN", collection="products")
    assert asked.status_code == 200
    first = html.unescape(asked.get_data(as_text=True))
    assert almost in first
    again = _ask(client, "reader@example.org", lang, country="VN", collection="products")
    assert html.unescape(again.get_data(as_text=True)) == first  # the same answer
    [confirm] = delivered(app, relay)  # asked twice within the hour: one link
    assert confirm["to"] == ["reader@example.org"]
    assert confirm["message"]["Subject"] == confirm_subject
    link = _link(confirm["message"])
    assert app.test_client().get(link).status_code == 200  # a scanner opening it confirms nothing
    with app.app_context():
        assert db.session.scalar(select(Subscription.confirmed_dt)) is None
    page = client.get(link)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post(link, data={"csrf_token": token}).status_code == 200

    # A week later: the products first published since are listed, in Vietnamese.
    now = utcnow()
    with app.app_context():
        row = db.session.get(Entry, product)
        row.published_dt = now + timedelta(days=1)
        db.session.commit()
    with app.test_request_context("/"):
        assert digests.follow.send_due(now + timedelta(days=6)) == 0  # not yet a week
        assert digests.follow.send_due(now + timedelta(days=7, minutes=1)) == 1
        assert digests.follow.send_due(now + timedelta(days=7, minutes=2)) == 0
    [digest] = delivered(app, relay)
    message = digest["message"]
    assert message["Subject"] == digest_subject
    text = message.get_body(("plain",)).get_content()
    assert f"/{lang}/products/{product}" in text
    stop = message["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert app.test_client().post(stop, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Subscription)) is None


def test_bad_asks_change_nothing(app, client, relay):
    assert _ask(client, "not an address", country="VN").status_code == 422
    assert _ask(client, "a@b.org\r\nBcc: c@d.org", country="VN").status_code == 422
    assert _ask(client, "a@example.org", country="ZZ").status_code == 422
    assert _ask(client, "a@example.org", collection="everything").status_code == 422
    assert client.post("/vi/follow", data={"email": "a@example.org"}).status_code == 400  # no CSRF
    with app.app_context():
        assert db.session.scalar(select(Subscription)) is None
    assert delivered(app, relay) == []


def test_the_lists_and_country_pages_link_to_it(client):
    assert 'href="/en/follow?country=VN"' in client.get("/en/countries/VN").get_data(as_text=True)
    assert "/en/follow?collection=products" in client.get("/en/products").get_data(as_text=True)
    assert client.get("/ja/follow?collection=fairs").status_code == 200
