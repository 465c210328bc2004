"""Feeds for people: JSON Feed 1.1 and iCalendar."""

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from hub.accounts.models import User
from hub.db import utctoday
from hub.extensions import db
from hub.publishing import services
from tests.support import sample_entries


def vn_user():
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def test_json_feed_per_collection_in_a_language(app, client):
    with app.test_request_context("/"):
        policy = sample_entries()["policy"].id
    response = client.get("/feeds/policies.json?lang=ja")
    assert response.mimetype == "application/feed+json"
    feed = response.get_json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["language"] == "ja" and feed["title"] == "OCOP交流ハブ: 政策"
    item = feed["items"][0]
    assert item["url"] == f"http://localhost/ja/policies/{policy}"
    assert (item["title"], item["language"]) == ("一村一品プログラム", "ja")
    english = client.get("/feeds/policies.json?lang=en").get_json()["items"][0]
    assert english["language"] == "vi"  # no English text: the source language is served


def test_json_feed_pages_and_countries(app, client):
    with app.test_request_context("/"):
        vn = vn_user()
        for n in range(55):
            entry = services.create_entry(
                vn, "product", "en", {"title": f"Tea {n}"}, {"product_group": "beverages"}
            )
            services.set_status(vn, entry.id, "published")
    first = client.get("/feeds/countries/vn/products.json").get_json()
    assert len(first["items"]) == 50 and first["items"][0]["title"] == "Tea 54"
    second = client.get(first["next_url"].removeprefix("http://localhost")).get_json()
    assert [i["title"] for i in second["items"]] == ["Tea 4", "Tea 3", "Tea 2", "Tea 1", "Tea 0"]
    assert "next_url" not in second
    assert client.get("/feeds/countries/TH/products.json").get_json()["items"] == []
    assert client.get("/feeds/countries/ZZ/products.json").status_code == 404


@pytest.mark.dates
def test_the_fair_calendar(app, client, instant):
    with app.test_request_context("/"):
        vn = vn_user()
        timed = sample_entries()["fair"]  # 08:00–21:00 in Asia/Ho_Chi_Minh, three days
        soon = utctoday() + timedelta(days=60)
        all_day = services.create_entry(vn, "fair", "en", {"title": "Craft days"},
                                        {"timezone": "Asia/Tokyo", "start_date": soon, "end_date": soon + timedelta(days=2), "all_day": True})  # fmt: skip
        cancelled = services.create_entry(vn, "fair", "en", {"title": "Called off"},
                                          {"timezone": "Asia/Bangkok", "start_date": soon, "start_time": time(9), "end_time": time(17), "fair_status": "cancelled"})  # fmt: skip
        for fair in (all_day, cancelled):
            services.set_status(vn, fair.id, "published")
        ids = (timed.id, all_day.id, cancelled.id)
    response = client.get("/fairs.ics")
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"fair-{i}@localhost" for i in ids}
    first = events[f"fair-{ids[0]}@localhost"]
    start = first.decoded("DTSTART")
    assert (start.hour, str(start.tzinfo)) == (8, "Asia/Ho_Chi_Minh")
    end = first.decoded("DTEND")
    assert (end.hour, str(end.tzinfo)) == (21, "Asia/Ho_Chi_Minh")
    assert end.date() - start.date() == timedelta(days=2)  # across a month's end too
    assert {tz["TZID"] for tz in calendar.walk("VTIMEZONE")} >= {"Asia/Ho_Chi_Minh", "Asia/Bangkok"}
    craft = events[f"fair-{ids[1]}@localhost"]
    assert (craft.decoded("DTSTART"), craft.decoded("DTEND")) == (soon, soon + timedelta(days=3))
    assert str(events[f"fair-{ids[2]}@localhost"]["STATUS"]) == "CANCELLED"
    # An edit keeps the UID (the subscriber's event is updated) and raises the SEQUENCE.
    with app.test_request_context("/"):
        services.save_text(vn_user(), ids[1], "en", {"title": "Craft days, extended"})
    again = {
        str(e["UID"]): e
        for e in icalendar.Calendar.from_ical(client.get("/fairs.ics").data).walk("VEVENT")
    }
    assert str(again[f"fair-{ids[1]}@localhost"]["SUMMARY"]) == "Craft days, extended"
    assert again[f"fair-{ids[1]}@localhost"]["SEQUENCE"] > craft["SEQUENCE"]
    per_country = icalendar.Calendar.from_ical(client.get("/countries/TH/fairs.ics").data)
    assert list(per_country.walk("VEVENT")) == []


@pytest.mark.dates  # the fairs' feed holds the fairs still to come
def test_the_fairs_feed_gives_each_fair_its_dates_zone_venue_and_status(app, client, time_machine):
    """A JSON Feed extension object, ``_hub``, as the exchange format gives the fields."""
    time_machine.move_to(datetime(2027, 2, 1, 12, tzinfo=UTC), tick=False)
    with app.test_request_context("/"):
        vn = vn_user()
        timed = services.create_entry(vn, "fair", "en", {"title": "Night market"},
                                      {"timezone": "Asia/Ho_Chi_Minh", "start_date": date(2027, 3, 5), "end_date": date(2027, 3, 7),
                                       "start_time": time(17), "end_time": time(22, 30), "venue": "Riverside", "fair_status": "postponed"})  # fmt: skip
        all_day = services.create_entry(vn, "fair", "en", {"title": "Craft days"},
                                        {"timezone": "Asia/Tokyo", "start_date": date(2027, 4, 1), "all_day": True})  # fmt: skip
        for fair in (timed, all_day):
            services.set_status(vn, fair.id, "published")
        ids = (timed.id, all_day.id)
    feed = client.get("/feeds/fairs.json?lang=en").get_json()
    items = {item["url"]: item for item in feed["items"]}
    assert items[f"http://localhost/en/fairs/{ids[0]}"]["_hub"] == {
        "start_date": "2027-03-05", "end_date": "2027-03-07", "start_time": "17:00",
        "end_time": "22:30", "all_day": False, "timezone": "Asia/Ho_Chi_Minh",
        "venue": "Riverside", "fair_status": "postponed",
    }  # fmt: skip
    assert items[f"http://localhost/en/fairs/{ids[1]}"]["_hub"] == {
        "start_date": "2027-04-01", "end_date": "2027-04-01", "start_time": None,
        "end_time": None, "all_day": True, "timezone": "Asia/Tokyo", "venue": None,
        "fair_status": "scheduled",
    }  # fmt: skip
    assert not list(JSON_FEED.iter_errors(feed))
    per_country = client.get("/feeds/countries/VN/fairs.json").get_json()["items"]
    assert {item["_hub"]["start_date"] for item in per_country} == {"2027-03-05", "2027-04-01"}
    policies = client.get("/feeds/policies.json").get_json()["items"]
    assert all("_hub" not in item for item in policies)


def test_list_pages_link_their_feeds(client):
    page = client.get("/en/fairs").get_data(as_text=True)
    assert (
        '<link rel="alternate" type="application/feed+json" title="Trade fairs" href="/feeds/fairs.json?lang=en">'
        in page
    )
    assert 'type="text/calendar"' in page and 'href="/fairs.ics?lang=en"' in page


JSON_FEED = Draft202012Validator(
    json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text()),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)


def test_the_json_feed_validator_refuses_what_json_feed_forbids():
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}
    assert not list(JSON_FEED.iter_errors(good))
    for bad in (
        {**good, "version": "https://jsonfeed.org/version/1"},
        {**good, "colour": "red"},
        {**good, "items": [{"id": "1"}]},  # neither content_html nor content_text
        {**good, "items": [{"id": "1", "content_text": "x", "date_published": "yesterday"}]},
        {**good, "authors": [{}]},
        {**good, "next_url": "not a url"},
    ):
        assert list(JSON_FEED.iter_errors(bad)), bad


@pytest.mark.dates  # the fairs' feed holds the upcoming fairs; dates in RFC 3339
@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
def test_every_json_feed_passes_the_json_feed_validator(app, client, lang):
    with app.test_request_context("/"):
        sample_entries()
        vn = vn_user()
        for n in range(52):
            entry = services.create_entry(
                vn, "product", "en", {"title": f"Tea {n}"}, {"product_group": "beverages"}
            )
            services.set_status(vn, entry.id, "published")
    urls = [
        f"/feeds/{c}.json?lang={lang}" for c in ("policies", "experiences", "fairs", "products")
    ]
    urls += [f"/feeds/countries/VN/{c}.json?lang={lang}" for c in ("policies", "products")]
    while urls:
        url = urls.pop()
        document = client.get(url).get_json()
        assert document["items"], url
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in JSON_FEED.iter_errors(document)]
        assert not errors, (url, errors)
        if "next_url" in document:  # the next pages too
            urls.append(document["next_url"].removeprefix("http://localhost"))
