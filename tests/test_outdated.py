"""Readers are told when the text they read is a translation older than its source: on the
entry's page and the list's cards, in the API's views and in the JSON Feeds."""

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.extensions import db
from hub.publishing import services

VN = "coordinator.vn@hub.test"
WRITTEN = datetime(2026, 4, 20, 10, 0, tzinfo=UTC)
CHANGED = datetime(2026, 5, 3, 9, 30, tzinfo=UTC)
TRANSLATED_AGAIN = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)

NOTICE = {
    "ja": "この翻訳は、ベトナム語の原文が2026年5月3日に変更される前に書かれたものです。",
    "en": "This translation was written before the Vietnamese original changed on May 3, 2026.",
}
READ_ORIGINAL = {"ja": "原文を読む", "en": "Read the original"}


def _text(page):
    return re.sub(r"\s+", " ", html.unescape(page.get_data(as_text=True)))


def _feed_item(client, entry_id, lang):
    feed = client.get(f"/feeds/policies.json?lang={lang}").get_json()
    return next(i for i in feed["items"] if i["url"].endswith(f"/policies/{entry_id}"))


@pytest.fixture
def policy(app, time_machine):
    """A published policy written in Vietnamese on 20 April 2026 and translated into Japanese
    and English the same day."""
    time_machine.move_to(WRITTEN, tick=False)
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        entry = services.create_entry(
            vn, "policy", "vi", {"title": "Chính sách OCOP", "body": "Bản đầu."}, {}
        )
        services.save_text(vn, entry.id, "ja", {"title": "OCOP政策", "body": "初版。"})
        services.save_text(vn, entry.id, "en", {"title": "OCOP policy", "body": "First."})
        services.set_status(vn, entry.id, "published")
        return entry.id


def _change_source(app, entry_id, time_machine):
    time_machine.move_to(CHANGED, tick=False)
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        services.save_text(vn, entry_id, "vi", {"title": "Chính sách OCOP", "body": "Bản hai."})


@pytest.mark.dates
def test_a_translation_older_than_its_source_says_so_everywhere(app, client, policy, time_machine):
    # Before the change, nothing is said (and these answers are now in the cache).
    assert NOTICE["ja"] not in _text(client.get(f"/ja/policies/{policy}"))
    before = client.get(f"/api/v1/policies/{policy}?lang=ja")
    assert (before.json["outdated"], before.json["source_changed"]) == (False, None)
    assert "_hub" not in _feed_item(client, policy, "ja")

    _change_source(app, policy, time_machine)

    # The Japanese page and its card: the date in Japanese, a link to the Vietnamese page.
    for url in (f"/ja/policies/{policy}", "/ja/policies"):
        page = client.get(url)
        text = _text(page)
        assert NOTICE["ja"] in text and READ_ORIGINAL["ja"] in text, url
        assert f'href="/vi/policies/{policy}" hreflang="vi"' in page.get_data(as_text=True)
    assert NOTICE["en"] in _text(client.get(f"/en/policies/{policy}"))
    # The source's own page says nothing of the kind.
    vi_page = _text(client.get(f"/vi/policies/{policy}"))
    assert "Bản hai." in vi_page and "Bản dịch này được viết trước" not in vi_page

    # The API's view of the text it serves; the old ETag no longer matches.
    api = client.get(
        f"/api/v1/policies/{policy}?lang=ja", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert api.status_code == 200
    view = api.json
    assert (view["language"], view["outdated"], view["source_language"]) == ("ja", True, "vi")
    assert datetime.fromisoformat(view["source_changed"]) == CHANGED
    listed = client.get("/api/v1/policies?lang=ja").json["items"]
    assert next(i for i in listed if i["id"] == policy)["source_changed"] == view["source_changed"]
    source = client.get(f"/api/v1/policies/{policy}?lang=vi").json
    assert (source["outdated"], source["source_language"], source["source_changed"]) == (
        False,
        "vi",
        None,
    )

    # The JSON Feed item, in a _hub extension object.
    item = _feed_item(client, policy, "ja")
    assert item["language"] == "ja"
    assert item["_hub"]["outdated"] is True and item["_hub"]["source_language"] == "vi"
    assert datetime.fromisoformat(item["_hub"]["source_changed"]) == CHANGED
    assert "_hub" not in _feed_item(client, policy, "vi")

    # Translated again from the new source: nothing is said any more.
    time_machine.move_to(TRANSLATED_AGAIN, tick=False)
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        services.save_text(vn, policy, "ja", {"title": "OCOP政策", "body": "第二版。"})
    page = _text(client.get(f"/ja/policies/{policy}"))
    assert "第二版。" in page and NOTICE["ja"] not in page
    assert NOTICE["ja"] not in _text(client.get("/ja/policies"))
    view = client.get(f"/api/v1/policies/{policy}?lang=ja").json
    assert (view["outdated"], view["source_changed"]) == (False, None)
    assert "_hub" not in _feed_item(client, policy, "ja")
    # English was not translated again: still outdated.
    assert client.get(f"/api/v1/policies/{policy}?lang=en").json["outdated"] is True


@pytest.mark.dates
def test_a_fair_keeps_one_hub_object_with_its_dates_and_the_outdated_text(
    app, client, time_machine
):
    time_machine.move_to(WRITTEN, tick=False)
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == VN))
        fair = services.create_entry(
            vn,
            "fair",
            "vi",
            {"title": "Hội chợ OCOP"},
            {
                "timezone": "Asia/Ho_Chi_Minh",
                "start_date": datetime(2026, 6, 1).date(),
                "all_day": True,
            },
        )
        services.save_text(vn, fair.id, "ja", {"title": "OCOPフェア"})
        services.set_status(vn, fair.id, "published")
    time_machine.move_to(CHANGED, tick=False)
    with app.test_request_context("/"):
        services.save_text(vn, fair.id, "vi", {"title": "Hội chợ OCOP Quảng Ninh"})
    feed = client.get("/feeds/fairs.json?lang=ja").get_json()
    [item] = [i for i in feed["items"] if i["url"].endswith(f"/fairs/{fair.id}")]
    assert item["_hub"]["start_date"] == "2026-06-01" and item["_hub"]["all_day"] is True
    assert item["_hub"]["outdated"] is True and item["_hub"]["source_language"] == "vi"
    assert datetime.fromisoformat(item["_hub"]["source_changed"]) == CHANGED


def _push(client, tokens, body_vi, ja_outdated, reference="1/QĐ"):
    record = {
        "source_language": "vi",
        "translations": {
            "vi": {"title": "Chính sách", "body": body_vi},
            "ja": {"title": "政策", "body": "初版。", "outdated": ja_outdated},
        },
        "reference_number": reference,
    }
    response = client.post(
        "/api/v1/ingest",
        json={"records": [{"id": "p-1", "collection": "policies", "record": record}]},
        headers=tokens["VN"],
    )
    assert response.status_code == 200 and response.json["status"] == "ok", response.json


@pytest.mark.dates
def test_a_partners_outdated_translation_dates_from_the_change_of_its_source(
    app, client, tokens, time_machine
):
    """A record the partner sends again with other facts but the same texts leaves the day the
    source text changed as it was."""
    time_machine.move_to(WRITTEN, tick=False)
    _push(client, tokens, "Bản đầu.", ja_outdated=False)
    time_machine.move_to(CHANGED, tick=False)
    _push(client, tokens, "Bản hai.", ja_outdated=True)
    [view] = client.get("/api/v1/policies?lang=ja").json["items"]
    assert view["outdated"] is True
    assert datetime.fromisoformat(view["source_changed"]) == CHANGED
    time_machine.move_to(TRANSLATED_AGAIN, tick=False)
    _push(client, tokens, "Bản hai.", ja_outdated=True, reference="2/QĐ")
    [view] = client.get("/api/v1/policies?lang=ja").json["items"]
    assert view["reference_number"] == "2/QĐ" and view["outdated"] is True
    assert datetime.fromisoformat(view["source_changed"]) == CHANGED
    assert NOTICE["ja"] in _text(client.get(f"/ja/policies/{view['id']}"))
