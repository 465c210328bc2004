"""Mail people ask for (hub.accounts.notifications): a trade enquiry at once to its country's
coordinators, a partner source failing, paused or held to its country's coordinators and the
administrators; each person's choice on /<lang>/account, and a one-click link that stops it.
Sent through aiosmtpd on loopback, in the recipient's language."""

import html
import re

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.extensions import db
from hub.sync import runs
from hub.sync.models import PartnerSource, SyncRun
from tests.mail_servers import delivered
from tests.support import csrf_token, sign_in
from tests.test_enquiries import ADMIN, TH, VN, send


def _prefer(app, email, language):
    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).preferred_language = language
        db.session.commit()


def test_a_trade_enquiry_is_mailed_at_once_to_its_countrys_coordinators(
    app, client, relay, product
):
    _prefer(app, VN, "vi")
    assert send(client, product).status_code == 302
    assert relay.received == []  # not from the request
    [got] = delivered(app, relay)
    message = got["message"]
    assert got["to"] == [VN]  # not Thailand's, not the administrators by default
    assert message["Subject"].startswith("Yêu cầu giao thương về ")
    text = message.get_body(("plain",)).get_content()
    assert "Anna Schmidt (Teehaus GmbH, Đức)" in text and "500 kg a year" in text
    assert re.search(r"/vi/manage/enquiries/\d+", text)
    off = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # One click (RFC 8058: a bare POST, no session, no CSRF token) stops it.
    path = off.removeprefix("http://localhost")
    assert "Ngừng nhận thư này" in html.unescape(app.test_client().get(path).get_data(as_text=True))
    answer = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert send(client, product).status_code == 302
    assert delivered(app, relay) == []
    assert app.test_client().get(path[:-3] + "xyz").status_code == 410  # a forged link


def test_each_person_chooses_on_their_account_page(app, client, relay, product):
    admin = app.test_client()
    sign_in(admin, ADMIN)
    page = html.unescape(admin.get("/en/account").get_data(as_text=True))
    assert "A buyer's trade enquiry about a product" in page
    token = csrf_token(admin, "/en/account")
    bad = admin.post(
        "/en/account/notifications", data={"csrf_token": token, "topic-enquiries": "hourly"}
    )
    assert bad.status_code == 422
    saved = admin.post(
        "/en/account/notifications", data={"csrf_token": token, "topic-enquiries": "instant"}
    )
    assert saved.status_code == 302
    assert send(client, product).status_code == 302
    got = {r["to"][0]: r["message"] for r in delivered(app, relay)}
    assert sorted(got) == [ADMIN, VN]
    assert got[ADMIN]["Subject"].startswith("Trade enquiry about ")  # English: no preference


@pytest.fixture
def source(app):
    with app.app_context():
        row = PartnerSource(country_code="TH", kind="csv", url="https://partner.example/th.csv")
        db.session.add(row)
        db.session.commit()
        return row.id


def _fail(app, source_id):
    with app.app_context():
        row = db.session.get(PartnerSource, source_id)
        run = SyncRun(source_id=source_id, status="running")
        db.session.add(run)
        db.session.commit()
        runs.failed(row, run, "connection refused")


def test_a_failing_then_paused_source_is_mailed_to_its_people(app, relay, source):
    _prefer(app, TH, "ja")
    _fail(app, source)
    assert delivered(app, relay) == []  # one failure: nothing yet
    _fail(app, source)
    failing = delivered(app, relay)
    assert sorted(r["to"][0] for r in failing) == [ADMIN, TH]
    by_to = {r["to"][0]: r["message"] for r in failing}
    assert (
        by_to[TH]["Subject"]
        == "パートナーソースhttps://partner.example/th.csvの同期が失敗しています"
    )
    assert "connection refused" in by_to[ADMIN].get_body(("plain",)).get_content()
    for _ in range(3):
        _fail(app, source)
    paused = delivered(app, relay)
    assert sorted(r["to"][0] for r in paused) == [ADMIN, TH]
    assert "paused" in {r["to"][0]: r["message"] for r in paused}[ADMIN]["Subject"]


def test_a_held_run_is_mailed(app, relay, source):
    with app.app_context():
        row = db.session.get(PartnerSource, source)
        run = SyncRun(source_id=source, status="held", held=40)
        db.session.add(run)
        db.session.commit()
        runs.succeeded(row, run, None, {})
    [first, second] = delivered(app, relay)
    assert {first["to"][0], second["to"][0]} == {ADMIN, TH}
    assert "would delete 40 entries" in first["message"].get_body(("plain",)).get_content()
