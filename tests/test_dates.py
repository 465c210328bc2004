"""The product at awkward instants: a year's last half hour, a leap day, a European and an
American daylight-saving night, on a machine whose own zone has another date than UTC (see
``AWKWARD_INSTANTS`` in tests/support.py). Fairs are upcoming or past in their venue's zone, a
rating is valid through its last day (in UTC), a date that has come somewhere on Earth is not
"in the future", and the feeds say when in RFC 3339 and in the venue's zone."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask_babel import format_date
from sqlalchemy import select, text

from hub.accounts.models import User
from hub.db import latest_possible_date, utcnow, utctoday
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry
from hub.registry.models import Country
from hub.registry.services import RegistryError, change_membership
from tests.support import awkward_instant

pytestmark = pytest.mark.dates

RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def vn_user():
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def publish(kind, title, fields, language="en"):
    vn = vn_user()
    entry = services.create_entry(vn, kind, language, {"title": title}, fields)
    services.set_status(vn, entry.id, "published")
    return entry


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_clock_is_stopped_at_the_instant_on_a_machine_with_another_date(instant):
    assert utcnow() == instant and utctoday() == instant.date()
    assert date.today() != instant.date()  # what the product must not read


# Fairs: at each instant, one that has just ended in its venue's zone and one that goes on,
# which reading the date in UTC, in the server's zone or without daylight saving would swap.
# (title, fields, upcoming, iCalendar DTSTART and DTEND: dates, or instants in UTC)
FAIRS_AROUND = {
    utc("2026-12-31 23:30"): (
        ("Ōmisoka market", {"timezone": "Asia/Tokyo", "start_date": date(2026, 12, 31),
                            "all_day": True},
         False, (date(2026, 12, 31), date(2027, 1, 1))),
        ("Year-end fair", {"timezone": "America/New_York", "start_date": date(2026, 12, 30),
                           "end_date": date(2026, 12, 31), "all_day": True},
         True, (date(2026, 12, 30), date(2027, 1, 1))),
    ),
    utc("2028-02-29 12:00"): (
        ("Auckland leap market", {"timezone": "Pacific/Auckland", "start_date": date(2028, 2, 28),
                                  "end_date": date(2028, 2, 29), "all_day": True},
         False, (date(2028, 2, 28), date(2028, 3, 1))),
        ("Leap day fair", {"timezone": "Asia/Ho_Chi_Minh", "start_date": date(2028, 2, 29),
                           "all_day": True},
         True, (date(2028, 2, 29), date(2028, 3, 1))),
    ),
    # Berlin: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
    utc("2027-03-28 01:30"): (
        ("Night market, early close", {"timezone": "Europe/Berlin", "start_date": date(2027, 3, 27),
                                       "end_date": date(2027, 3, 28), "start_time": time(20),
                                       "end_time": time(3, 15)},
         False, (utc("2027-03-27 19:00"), utc("2027-03-28 01:15"))),
        ("Night market", {"timezone": "Europe/Berlin", "start_date": date(2027, 3, 27),
                          "end_date": date(2027, 3, 28), "start_time": time(20),
                          "end_time": time(3, 45)},
         True, (utc("2027-03-27 19:00"), utc("2027-03-28 01:45"))),
    ),
    # New York: 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    utc("2027-11-07 06:30"): (
        ("Harvest evening", {"timezone": "America/New_York", "start_date": date(2027, 11, 6),
                             "end_date": date(2027, 11, 7), "start_time": time(22),
                             "end_time": time(0, 30)},
         False, (utc("2027-11-07 02:00"), utc("2027-11-07 04:30"))),
        ("Harvest night", {"timezone": "America/New_York", "start_date": date(2027, 11, 6),
                           "end_date": date(2027, 11, 7), "start_time": time(22),
                           "end_time": time(2)},
         True, (utc("2027-11-07 02:00"), utc("2027-11-07 07:00"))),
    ),
}  # fmt: skip


def test_fairs_are_upcoming_until_they_end_in_their_venues_zone(app, client, instant):
    cases = FAIRS_AROUND[instant]
    with app.test_request_context("/"):
        ids = {title: publish("fair", title, fields).id for title, fields, *_ in cases}
    upcoming = {title for title, _fields, going_on, *_ in cases if going_on}
    past = set(ids) - upcoming
    titles = {entry_id: title for title, entry_id in ids.items()}

    def listed(url):
        return {titles[item["id"]] for item in client.get(url).get_json()["items"]}

    assert listed("/api/v1/fairs?lang=en") == upcoming
    assert listed("/api/v1/fairs?lang=en&when=past") == past
    feed = client.get("/feeds/fairs.json?lang=en").get_json()
    assert {item["title"] for item in feed["items"]} == upcoming
    page = client.get("/en/fairs?when=upcoming").get_data(as_text=True)
    past_page = client.get("/en/fairs?when=past").get_data(as_text=True)
    for title in upcoming:
        assert f">{title}</a>" in page and f">{title}</a>" not in past_page
    for title in past:
        assert f">{title}</a>" in past_page and f">{title}</a>" not in page
    # Both on the fairs page, the past ones after the upcoming ones, under their own heading;
    # each fair's status is the one for the day: a past scheduled fair took place.
    both = client.get("/en/fairs").get_data(as_text=True)
    past_start = both.find('<section class="fairs-past">')
    for title in upcoming:
        assert -1 < both.index(f">{title}</a>") < (past_start if past_start > -1 else len(both))
    for title in past:
        assert both.index(f">{title}</a>") > past_start > -1
    for title, entry_id in ids.items():
        detail = client.get(f"/en/fairs/{entry_id}").get_data(as_text=True)
        status = "Took place" if title in past else "Scheduled"
        assert (
            f'<span class="fair-status fair-{"held" if title in past else "scheduled"}">{status}</span>'
            in detail
        ), title

    # The calendar holds both, each on its days in its venue's zone.
    calendar = icalendar.Calendar.from_ical(client.get("/fairs.ics").data)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == set(ids)
    for title, fields, _going_on, (start, end) in cases:
        event = events[title]
        dtstart, dtend = event.decoded("DTSTART"), event.decoded("DTEND")
        if fields.get("all_day"):  # dates; the end is the day after the last (exclusive)
            assert (type(dtstart), type(dtend)) == (date, date), title
            assert (dtstart, dtend) == (start, end), title
        else:  # the venue's wall clock, with its zone, at the right instants
            assert str(dtstart.tzinfo) == str(dtend.tzinfo) == fields["timezone"], title
            assert (dtstart.astimezone(UTC), dtend.astimezone(UTC)) == (start, end), title
        assert event.decoded("DTSTAMP") == instant
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert zones >= {f["timezone"] for _t, f, *_ in cases if not f.get("all_day")}


def test_a_calendar_of_fairs_on_a_daylight_saving_night_keeps_their_wall_clock(
    app, client, time_machine
):
    """A fair from 20:00 to 03:45 in Berlin on the night the clocks go forward lasts 6 h 45
    min, not 7 h 45 min; its subscriber's calendar says 20:00 and 03:45 all the same."""
    time_machine.move_to(utc("2027-03-01 12:00"), tick=False)  # the calendar shows it then
    with app.test_request_context("/"):
        fair = publish("fair", "Night market", FAIRS_AROUND[utc("2027-03-28 01:30")][1][1])
    assert fair.ends_utc - fair.starts_utc == timedelta(hours=6, minutes=45)
    [event] = icalendar.Calendar.from_ical(client.get("/fairs.ics").data).walk("VEVENT")
    dtstart, dtend = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (dtstart.replace(tzinfo=None), dtend.replace(tzinfo=None)) == (
        datetime(2027, 3, 27, 20),
        datetime(2027, 3, 28, 3, 45),
    )
    assert dtend.astimezone(UTC) - dtstart.astimezone(UTC) == timedelta(hours=6, minutes=45)
    assert (dtstart.utcoffset(), dtend.utcoffset()) == (timedelta(hours=1), timedelta(hours=2))


def test_a_calendars_time_zones_hold_their_rules_for_the_fairs_years(app, client, time_machine):
    """The VTIMEZONE of a fair's zone covers the fair, in 2045 too (after 2038, where the
    library's rules stop unless told otherwise): a client reading it sees summer time."""
    time_machine.move_to(utc("2045-06-01 12:00"), tick=False)
    fields = {"timezone": "Europe/Berlin", "start_date": date(2045, 7, 1),
              "start_time": time(10), "end_time": time(18)}  # fmt: skip
    with app.test_request_context("/"):
        publish("fair", "Summer fair", fields)
    calendar = icalendar.Calendar.from_ical(client.get("/fairs.ics").data)
    [zone] = calendar.walk("VTIMEZONE")
    rules = zone.to_tz(lookup_tzid=False)  # the VTIMEZONE alone, not the system's database
    for moment in (datetime(2045, 7, 1, 10), datetime(2045, 7, 1, 18)):
        assert moment.replace(tzinfo=rules).utcoffset() == timedelta(hours=2), moment


def test_a_list_that_time_changed_is_not_answered_304(app, client, instant, time_machine):
    """A fair that ends leaves the upcoming fairs (and their feed) though no entry changed; a
    rating whose last day ends leaves the valid products: Last-Modified says when, so a client
    asking If-Modified-Since gets the new list, not a 304."""
    earlier = instant - timedelta(days=2)
    time_machine.move_to(earlier, tick=False)
    ends = instant - timedelta(minutes=20)  # in Hanoi, on its own wall clock
    local = ends.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    with app.test_request_context("/"):
        fair = publish("fair", "Closing fair", {
            "timezone": "Asia/Ho_Chi_Minh", "start_date": local.date() - timedelta(days=1),
            "end_date": local.date(), "start_time": time(0), "end_time": local.time()})  # fmt: skip
        product = publish("product", "Rated tea", {
            "product_group": "beverages", "rating_scheme": "ocop", "stars": 4,
            "rated_on": date(2025, 1, 1), "valid_until": instant.date() - timedelta(days=1)})  # fmt: skip
    urls = ["/api/v1/fairs", "/feeds/fairs.json", "/api/v1/products?valid=1"]
    stamps = {url: client.get(url).headers["Last-Modified"] for url in urls}
    time_machine.move_to(instant, tick=False)
    for url, turned in zip(
        urls, (ends, ends, datetime.combine(instant.date(), time(0), UTC)), strict=True
    ):
        response = client.get(url, headers={"If-Modified-Since": stamps[url]})
        assert response.status_code == 200, url
        assert response.last_modified == turned.replace(microsecond=0), url
        shown = {str(item["id"]).rsplit("/", 1)[-1] for item in response.get_json()["items"]}
        assert str(fair.id) not in shown and str(product.id) not in shown, url
        again = client.get(url, headers={"If-Modified-Since": response.headers["Last-Modified"]})
        assert again.status_code == 304, url


def test_a_rating_is_valid_through_its_last_day_in_utc(app, client, instant):
    today = instant.date()  # in UTC; the machine's own date is another
    rating = {"product_group": "food", "rating_scheme": "otop", "stars": 4,
              "rated_on": today - timedelta(days=400)}  # fmt: skip
    with app.test_request_context("/"):
        valid = publish("product", "Still valid", {**rating, "valid_until": today})
        expired = publish(
            "product", "Just expired", {**rating, "valid_until": today - timedelta(days=1)}
        )
        assert not services.is_expired(valid) and services.is_expired(expired)
    api = client.get("/api/v1/products?valid=1").get_json()["items"]
    assert [item["id"] for item in api] == [valid.id]
    listed = client.get("/en/products?valid=1").get_data(as_text=True)
    assert "Still valid" in listed and "Just expired" not in listed
    everything = client.get("/en/products").get_data(as_text=True)
    cards = {title: card for card in everything.split('<article class="entry-card"')[1:]
             for title in ("Still valid", "Just expired") if title in card}  # fmt: skip
    assert "rating expired" not in cards["Still valid"]
    assert "rating expired" in cards["Just expired"]
    assert "rating expired" not in client.get("/en/search?q=still+valid").get_data(as_text=True)
    assert "rating expired" in client.get("/en/search?q=just+expired").get_data(as_text=True)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        last_day = format_date(today, "long")
        day_before = format_date(today - timedelta(days=1), "long")
    assert f"valid until {last_day}." in client.get(f"/en/products/{valid.id}").get_data(
        as_text=True
    )
    assert f"This rating expired on {day_before}." in client.get(
        f"/en/products/{expired.id}"
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    ("rated_on", "valid_until"),
    [
        (date(2025, 2, 28), date(2028, 2, 28)),
        (date(2025, 3, 1), date(2028, 3, 1)),
        (date(2024, 2, 29), date(2027, 2, 28)),  # no 29 February in 2027: its last day
        (date(2023, 12, 31), date(2026, 12, 31)),
        (date(2023, 11, 30), date(2026, 11, 30)),
    ],
)
def test_an_ocop_rating_runs_36_months_to_the_same_day_or_the_months_last(rated_on, valid_until):
    assert services.add_months(rated_on, 36) == valid_until


# A date is "in the future" once it has come nowhere on Earth: after today in UTC+14. The
# machine's zone is on the other side of the date line, so that its own date would be wrong.
@pytest.mark.parametrize(
    ("moment", "zone", "latest"),
    [
        ("2026-12-31 09:59:59", "Pacific/Kiritimati", date(2026, 12, 31)),
        ("2026-12-31 10:00:00", "Etc/GMT+12", date(2027, 1, 1)),
        ("2028-02-28 10:00:00", "Etc/GMT+12", date(2028, 2, 29)),
        ("2028-02-29 09:59:59", "Pacific/Kiritimati", date(2028, 2, 29)),
    ],
)
def test_a_date_that_has_come_somewhere_is_not_in_the_future(
    app, ctx, time_machine, moment, zone, latest
):
    time_machine.move_to(awkward_instant(moment, zone), tick=False)
    assert latest_possible_date() == latest
    vn = vn_user()
    later = latest + timedelta(days=1)
    for kind, field, extra in (
        ("policy", "issued_on", {}),
        ("product", "rated_on", {"product_group": "food", "rating_scheme": "ocop", "stars": 3}),
    ):
        entry = services.create_entry(vn, kind, "en", {"title": "Dated"}, {**extra, field: latest})
        assert getattr(entry, field) == latest
        with pytest.raises(services.EntryInvalid) as refused:
            services.create_entry(vn, kind, "en", {"title": "Too early"}, {**extra, field: later})
        assert refused.value.errors == {field: "This date is in the future."}
    with pytest.raises(RegistryError, match="is in the future"):
        change_membership("MW", "applicant", later)
    change_membership("MW", "applicant", latest)
    assert db.session.get(Country, "MW").status_since_on == latest


def test_json_feed_dates_are_rfc_3339_in_utc(app, client, instant):
    with app.test_request_context("/"):
        entry = publish("policy", "Dated policy", {"issued_on": instant.date()})
    item = client.get("/feeds/policies.json").get_json()["items"][0]
    assert item["id"].endswith(f"/{entry.id}")
    for key in ("date_published", "date_modified"):
        assert RFC_3339.match(item[key]), item[key]
        assert item[key] == instant.isoformat()  # "2026-12-31T23:30:00+00:00"
    record = client.get(f"/api/v1/policies/{entry.id}?lang=all").get_json()
    assert datetime.fromisoformat(record["updated_dt"]) == instant


def test_times_come_back_in_utc_whatever_the_database_sessions_zone(app, backend):
    """PostgreSQL hands timestamps back in its session's zone; the hub's are UTC all the same,
    so that a feed or a calendar never shows the database server's zone."""
    with app.test_request_context("/"):
        entry = publish("policy", "Zoned", {})
        written = entry.updated_dt
        if backend == "postgresql":
            db.session.execute(text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
        db.session.expire_all()
        read = db.session.get(Entry, entry.id).updated_dt
        assert read == written and read.utcoffset() == timedelta(0)
        assert read.isoformat().endswith("+00:00")
        db.session.rollback()
