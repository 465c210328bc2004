"""The iCalendar connector on calendars as people write them, served over loopback and synced
through the pipeline: recurring events expanded into fairs of their own with ids that do not
change, overrides, events with no end, all-day events with a zone, Outlook's Windows zone names,
and impossible dates that cost the calendar nothing but their own event."""

from datetime import UTC, datetime

import icalendar
import pytest
from sqlalchemy import func, select

from connectors.base import get_connector
from hub.extensions import db
from hub.publishing.models import Entry
from hub.sync.models import RejectedRecord
from tests.support import sign_in
from tests.test_sync import add, entries, sync

pytestmark = pytest.mark.usefixtures("loopback_allowed")  # the calendars are on loopback

COUNTS = ("status", "fetched", "created", "updated", "unchanged", "deleted", "rejected")
SETTINGS = {"language": "en", "timezone": "Asia/Ho_Chi_Minh"}
BEFORE_THE_SERIES = datetime(2027, 2, 1, 12, tzinfo=UTC)


def calendar(*events, head=""):
    """An iCalendar file of ``events`` (VEVENT bodies), with CRLF line ends."""
    parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Partner//Fairs//EN"]
    if head:
        parts.append(head.strip())
    parts += [f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT" for event in events]
    parts.append("END:VCALENDAR")
    return ("\n".join(parts) + "\n").replace("\n", "\r\n")


def serve(httpserver, text):
    httpserver.clear()
    httpserver.expect_request("/fairs.ics").respond_with_data(text, content_type="text/calendar")


def counts(result):
    return {name: result[name] for name in COUNTS}


def fairs(app, source):
    """The source's fairs: ``{partner id: (title, starts, ends, all_day, zone, alive)}``."""
    with app.app_context():
        rows = db.session.scalars(select(Entry).where(Entry.source_id == source))
        return {
            e.partner_id: (
                e.text_in(e.source_language).title,
                e.starts_local.isoformat(),
                e.ends_local.isoformat(),
                e.all_day,
                e.timezone,
                e.deleted_dt is None,
            )
            for e in rows
        }


MARKET = """
UID:market@partner
SUMMARY:Weekly market
LOCATION:Town square
DTSTART;TZID=Asia/Tokyo:20270301T090000
DTEND;TZID=Asia/Tokyo:20270301T120000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Asia/Tokyo:20270315T090000
RDATE;TZID=Asia/Tokyo:20270310T140000
"""
MOVED = """
UID:market@partner
RECURRENCE-ID;TZID=Asia/Tokyo:20270322T090000
SUMMARY:Weekly market, a day later
LOCATION:Town hall
DTSTART;TZID=Asia/Tokyo:20270323T100000
DTEND;TZID=Asia/Tokyo:20270323T130000
"""
FESTIVAL = """
UID:festival@partner
SUMMARY:Craft festival
DTSTART;VALUE=DATE:20270320
DTEND;VALUE=DATE:20270322
"""
WEEKLY = {
    "market@partner@2027-03-01T09:00:00": ("Weekly market", "2027-03-01T09:00:00", "2027-03-01T12:00:00", False, "Asia/Tokyo", True),
    "market@partner@2027-03-08T09:00:00": ("Weekly market", "2027-03-08T09:00:00", "2027-03-08T12:00:00", False, "Asia/Tokyo", True),
    "market@partner@2027-03-10T14:00:00": ("Weekly market", "2027-03-10T14:00:00", "2027-03-10T17:00:00", False, "Asia/Tokyo", True),
    "market@partner@2027-03-22T09:00:00": ("Weekly market, a day later", "2027-03-23T10:00:00", "2027-03-23T13:00:00", False, "Asia/Tokyo", True),
    "market@partner@2027-03-29T09:00:00": ("Weekly market", "2027-03-29T09:00:00", "2027-03-29T12:00:00", False, "Asia/Tokyo", True),
    "festival@partner": ("Craft festival", "2027-03-20T00:00:00", "2027-03-21T00:00:00", True, "Asia/Ho_Chi_Minh", True),
}  # fmt: skip


@pytest.mark.dates
def test_a_weekly_series_becomes_one_fair_an_occurrence_with_ids_that_stay(
    app, httpserver, time_machine
):
    """RRULE less its EXDATE, plus an RDATE, with one occurrence moved by an override: five
    fairs, the moved one under the id of the occurrence it replaces. A run on another day,
    with another window, finds the same ids and changes nothing."""
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(httpserver, calendar(MARKET, MOVED, FESTIVAL))
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS, country="JP")
    first = sync(app, source)
    assert counts(first) == {"status": "ok", "fetched": 6, "created": 6, "updated": 0,
                             "unchanged": 0, "deleted": 0, "rejected": 0}  # fmt: skip
    assert fairs(app, source) == WEEKLY
    with app.app_context():
        moved = db.session.scalar(
            select(Entry).where(Entry.partner_id == "market@partner@2027-03-22T09:00:00")
        )
        assert moved.venue == "Town hall"
    before = entries(app, source)
    time_machine.move_to(datetime(2027, 2, 9, 3, tzinfo=UTC), tick=False)  # another window
    second = sync(app, source)
    assert counts(second) == {"status": "ok", "fetched": 6, "created": 0, "updated": 0,
                              "unchanged": 6, "deleted": 0, "rejected": 0}  # fmt: skip
    assert entries(app, source) == before  # not even a new change number


@pytest.mark.dates
def test_occurrences_that_slide_out_of_the_window_stay_and_removed_ones_go(
    app, httpserver, time_machine
):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(httpserver, calendar(MARKET, MOVED, FESTIVAL))
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS, country="JP")
    sync(app, source)
    # The partner cancels the market of 8 March (another EXDATE) and the override's change.
    serve(
        httpserver,
        calendar(MARKET.replace("20270315T090000", "20270308T090000,20270315T090000"), FESTIVAL),
    )
    result = sync(app, source)
    assert (result["status"], result["updated"], result["deleted"]) == ("ok", 1, 1)
    after = fairs(app, source)
    assert after["market@partner@2027-03-08T09:00:00"][-1] is False
    assert after["market@partner@2027-03-22T09:00:00"][:3] == (
        "Weekly market", "2027-03-22T09:00:00", "2027-03-22T12:00:00"
    )  # fmt: skip
    # Months later every occurrence has left the window (30 days back): none is deleted.
    time_machine.move_to(datetime(2027, 7, 1, 12, tzinfo=UTC), tick=False)
    result = sync(app, source)
    assert counts(result) == {"status": "ok", "fetched": 1, "created": 0, "updated": 0,
                              "unchanged": 1, "deleted": 0, "rejected": 0}  # fmt: skip
    alive = sorted(k for k, v in fairs(app, source).items() if v[-1])
    assert alive == [
        "festival@partner",
        "market@partner@2027-03-01T09:00:00",
        "market@partner@2027-03-10T14:00:00",
        "market@partner@2027-03-22T09:00:00",
        "market@partner@2027-03-29T09:00:00",
    ]
    # An event that does not recur is read whatever its date: removed, it is deleted.
    autumn = "UID:autumn@partner\nSUMMARY:Autumn fair\nDTSTART;VALUE=DATE:20271001"
    serve(httpserver, calendar(MARKET, autumn))
    result = sync(app, source)
    assert (result["status"], result["created"], result["deleted"]) == ("ok", 1, 1)
    assert fairs(app, source)["festival@partner"][-1] is False
    # A calendar that comes back empty deletes nothing (a glitch, more likely than not): the
    # run is held for an administrator's review.
    serve(httpserver, calendar())
    result = sync(app, source)
    assert (result["status"], result["fetched"], result["deleted"]) == ("held", 0, 0)
    assert fairs(app, source)["autumn@partner"][-1] is True


@pytest.mark.dates
def test_the_window_is_a_setting(app, httpserver, time_machine):
    time_machine.move_to(datetime(2027, 3, 20, 12, tzinfo=UTC), tick=False)
    serve(httpserver, calendar(MARKET, MOVED))
    settings = {**SETTINGS, "past_days": 7, "future_days": 5}
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), settings, country="JP")
    sync(app, source)
    # From 13 March to 25 March (UTC): the override (23 March) only.
    assert sorted(fairs(app, source)) == ["market@partner@2027-03-22T09:00:00"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"past_days": -1}, "past_days must be a whole number of days from 0 to 3660"),
        ({"past_days": "30"}, "past_days must be a whole number of days from 0 to 3660"),
        ({"past_days": True}, "past_days must be a whole number of days from 0 to 3660"),
        ({"future_days": 0}, "future_days must be a whole number of days from 1 to 1830"),
        ({"future_days": 10_000}, "future_days must be a whole number of days from 1 to 1830"),
        ({"window": 3}, "unknown ical settings: window"),
    ],
)
def test_odd_windows_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        get_connector("ical").validate_settings({**SETTINGS, **settings})


def test_the_window_has_defaults():
    assert get_connector("ical").validate_settings(SETTINGS) == {
        **SETTINGS,
        "past_days": 30,
        "future_days": 365,
    }


@pytest.mark.dates
def test_an_event_with_no_end_takes_no_time(app, client, httpserver, time_machine):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(
        httpserver,
        calendar(
            "UID:opening@partner\nSUMMARY:Opening ceremony\nDTSTART;TZID=Asia/Bangkok:20270305T090000",
            "UID:day@partner\nSUMMARY:Open day\nDTSTART;VALUE=DATE:20270306",
        ),
    )
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS)
    assert counts(sync(app, source))["created"] == 2
    assert fairs(app, source) == {
        "opening@partner": ("Opening ceremony", "2027-03-05T09:00:00", "2027-03-05T09:00:00", False, "Asia/Bangkok", True),
        "day@partner": ("Open day", "2027-03-06T00:00:00", "2027-03-06T00:00:00", True, "Asia/Ho_Chi_Minh", True),
    }  # fmt: skip
    # The hub's own calendar gives it no DTEND (RFC 5545: a DTEND is later than the DTSTART).
    events = {
        str(e["SUMMARY"]): e
        for e in icalendar.Calendar.from_ical(client.get("/fairs.ics").data).walk("VEVENT")
    }
    assert "DTEND" not in events["Opening ceremony"]
    assert events["Opening ceremony"].decoded("DTSTART").hour == 9
    with app.app_context():
        fair_id = db.session.scalar(select(Entry.id).where(Entry.partner_id == "opening@partner"))
    page = client.get(f"/en/fairs/{fair_id}").get_data(as_text=True)
    when = page[page.index("When</dt>") :].split("</dd>")[0]
    assert '<time datetime="2027-03-05T09:00:00">March 5, 2027 9:00\u202fAM</time>' in when
    assert "–" not in when  # no end to show


@pytest.mark.dates
def test_a_date_stays_a_date_with_a_zone(app, httpserver, time_machine):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(
        httpserver,
        calendar(
            "UID:expo@partner\nSUMMARY:Expo\n"
            "DTSTART;VALUE=DATE;TZID=Europe/Berlin:20270306\n"
            "DTEND;VALUE=DATE;TZID=Europe/Berlin:20270308",
            # A recurring one too: each occurrence is all-day, in the series' zone.
            "UID:sunday@partner\nSUMMARY:Sunday market\n"
            "DTSTART;VALUE=DATE;TZID=Asia/Tokyo:20270307\nRRULE:FREQ=WEEKLY;COUNT=2\n"
            "EXDATE;VALUE=DATE;TZID=Asia/Tokyo:20270314\nRDATE;VALUE=DATE;TZID=Asia/Tokyo:20270315",
        ),
    )
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS)
    assert counts(sync(app, source))["rejected"] == 0
    assert fairs(app, source) == {
        "expo@partner": ("Expo", "2027-03-06T00:00:00", "2027-03-07T00:00:00", True, "Europe/Berlin", True),
        "sunday@partner@2027-03-07": ("Sunday market", "2027-03-07T00:00:00", "2027-03-07T00:00:00", True, "Asia/Tokyo", True),
        "sunday@partner@2027-03-15": ("Sunday market", "2027-03-15T00:00:00", "2027-03-15T00:00:00", True, "Asia/Tokyo", True),
    }  # fmt: skip


OUTLOOK_ZONE = """
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
END:STANDARD
END:VTIMEZONE
"""


@pytest.mark.dates
def test_windows_zone_names_are_the_iana_zones_cldr_maps_them_to(app, httpserver, time_machine):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(
        httpserver,
        calendar(
            # As Outlook writes it: the Windows name, with a VTIMEZONE of that name.
            "UID:berlin@partner\nSUMMARY:Berlin\n"
            "DTSTART;TZID=W. Europe Standard Time:20270402T100000\n"
            "DTEND;TZID=W. Europe Standard Time:20270402T180000",
            # As Exchange may: no VTIMEZONE at all.
            "UID:hanoi@partner\nSUMMARY:Hanoi\n"
            "DTSTART;TZID=SE Asia Standard Time:20270403T080000\nDURATION:PT9H",
            'UID:tokyo@partner\nSUMMARY:Tokyo\nDTSTART;TZID="Tokyo Standard Time":20270404T100000\n'
            'DTEND;TZID="Tokyo Standard Time":20270404T170000\nRRULE:FREQ=DAILY;COUNT=2',
            # A zone with no IANA name: the same instant, in the source's zone.
            "UID:custom@partner\nSUMMARY:Custom\n"
            "DTSTART;TZID=Customized Time Zone:20270405T100000\n"
            "DTEND;TZID=Customized Time Zone:20270405T120000",
            "UID:global@partner\nSUMMARY:Global\n"
            "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20270406T100000\n"
            "DTEND;TZID=/mozilla.org/20050126_1/Europe/Paris:20270406T110000",
            head=OUTLOOK_ZONE,
        ),
    )
    source = add(
        app, "ical", httpserver.url_for("/fairs.ics"), {**SETTINGS, "timezone": "Asia/Seoul"}
    )
    assert counts(sync(app, source))["rejected"] == 0
    assert fairs(app, source) == {
        "berlin@partner": ("Berlin", "2027-04-02T10:00:00", "2027-04-02T18:00:00", False, "Europe/Berlin", True),
        "hanoi@partner": ("Hanoi", "2027-04-03T08:00:00", "2027-04-03T17:00:00", False, "Asia/Bangkok", True),
        "tokyo@partner@2027-04-04T10:00:00": ("Tokyo", "2027-04-04T10:00:00", "2027-04-04T17:00:00", False, "Asia/Tokyo", True),
        "tokyo@partner@2027-04-05T10:00:00": ("Tokyo", "2027-04-05T10:00:00", "2027-04-05T17:00:00", False, "Asia/Tokyo", True),
        "custom@partner": ("Custom", "2027-04-05T12:00:00", "2027-04-05T14:00:00", False, "Asia/Seoul", True),
        "global@partner": ("Global", "2027-04-06T10:00:00", "2027-04-06T11:00:00", False, "Europe/Paris", True),
    }  # fmt: skip


def test_the_windows_names_come_from_cldr():
    from connectors.ical import iana_zone

    assert iana_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_zone("SE Asia Standard Time") == "Asia/Bangkok"
    assert iana_zone("Tokyo Standard Time") == "Asia/Tokyo"
    assert iana_zone("Asia/Ho_Chi_Minh") == "Asia/Ho_Chi_Minh"
    assert iana_zone("(UTC+07:00) Bangkok, Hanoi, Jakarta") is None


BAD = [
    "UID:feb30@partner\nSUMMARY:The thirtieth of February\nDTSTART;VALUE=DATE:20270230",
    "UID:year0@partner\nSUMMARY:Year zero\nDTSTART;VALUE=DATE:00000101",
    "UID:late@partner\nSUMMARY:An impossible end\nDTSTART:20270301T100000\nDTEND:20270231T100000",
    "UID:series@partner\nSUMMARY:Bad exception\nDTSTART:20270301T100000\nDTEND:20270301T120000\n"
    "RRULE:FREQ=WEEKLY;COUNT=3\nEXDATE:20270231T100000",
]


@pytest.mark.dates
def test_an_impossible_date_refuses_its_event_only(app, client, httpserver, time_machine):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    good = "UID:good@partner\nSUMMARY:A real fair\nDTSTART;VALUE=DATE:20270301"
    weekly = (
        "UID:weekly@partner\nSUMMARY:Weekly\nDTSTART;VALUE=DATE:20270301\nRRULE:FREQ=WEEKLY;COUNT=3"
    )
    # An override whose own date cannot be read: its occurrence is refused, not the series.
    broken_override = (
        "UID:weekly@partner\nSUMMARY:Moved\nRECURRENCE-ID;VALUE=DATE:20270308\n"
        "DTSTART;VALUE=DATE:20270232"
    )
    serve(httpserver, calendar(good, *BAD, weekly, broken_override))
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS)
    result = sync(app, source)
    assert (result["status"], result["created"], result["rejected"]) == ("partial", 3, 5), result
    assert sorted(fairs(app, source)) == [
        "good@partner", "weekly@partner@2027-03-01", "weekly@partner@2027-03-15"
    ]  # fmt: skip
    with app.app_context():
        refused = {
            r.partner_id: (r.reasons["en"], r.record.get("start_date"), r.record.get("end_date"))
            for r in db.session.scalars(select(RejectedRecord))
        }
    assert refused == {
        "feb30@partner": (
            {"start_date": ["Not a valid date."]},
            "unreadable (DTSTART 20270230 is not a valid date)",
            None,
        ),
        "year0@partner": (
            {"start_date": ["Not a valid date."]},
            "unreadable (DTSTART 00000101 is not a valid date)",
            None,
        ),
        "late@partner": (
            {"end_date": ["Not a valid date."]},
            "2027-03-01",
            "unreadable (DTEND 20270231T100000 is not a valid date and time)",
        ),
        "series@partner": (
            {"start_date": ["Not a valid date."]},
            "unreadable (EXDATE 20270231T100000 is not a valid date and time)",
            None,
        ),
        "weekly@partner@2027-03-08": (
            {"start_date": ["Not a valid date."]},
            "unreadable (DTSTART 20270232 is not a valid date)",
            None,
        ),
    }
    # The administrators see why, with what the partner wrote.
    sign_in(client, "admin@hub.test")
    page = client.get(f"/en/admin/sources/{source}").get_data(as_text=True)
    assert (
        '<li data-field="start_date">First day: Not a valid date. '
        "<code>unreadable (DTSTART 20270230 is not a valid date)</code></li>" in page
    )
    # The next run, with the dates mended, takes them; nothing held was deleted meanwhile.
    serve(httpserver, calendar(good, BAD[0].replace("20270230", "20270228"), weekly))
    result = sync(app, source)
    assert (result["status"], result["created"], result["deleted"]) == ("ok", 2, 0), result
    assert sorted(fairs(app, source)) == [
        "feb30@partner", "good@partner", "weekly@partner@2027-03-01", "weekly@partner@2027-03-08",
        "weekly@partner@2027-03-15",
    ]  # fmt: skip


@pytest.mark.dates
def test_a_series_that_cannot_be_read_keeps_what_the_hub_holds_of_it(app, httpserver, time_machine):
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(httpserver, calendar(MARKET, FESTIVAL))
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS, country="JP")
    sync(app, source)
    before = entries(app, source)
    serve(httpserver, calendar(MARKET.replace("COUNT=5", "UNTIL=20270231"), FESTIVAL))
    result = sync(app, source)
    assert (result["status"], result["rejected"], result["deleted"]) == ("partial", 1, 0)
    assert entries(app, source) == before
    with app.app_context():
        record = db.session.scalar(select(RejectedRecord)).record
    assert record["start_date"].startswith("unreadable (RRULE FREQ=WEEKLY;UNTIL=20270231 is")
    serve(httpserver, calendar(MARKET, FESTIVAL))  # mended: the same fairs, nothing to do
    result = sync(app, source)
    assert counts(result) == {"status": "ok", "fetched": 6, "created": 0, "updated": 0,
                              "unchanged": 6, "deleted": 0, "rejected": 0}  # fmt: skip


@pytest.mark.dates
def test_a_calendar_with_recurring_events_from_before_replaces_them_by_their_occurrences(
    app, httpserver, time_machine
):
    """The hub held a recurring event as one fair under its UID (as this connector once gave
    it): the first run with occurrences deletes it."""
    time_machine.move_to(BEFORE_THE_SERIES, tick=False)
    serve(httpserver, calendar(MARKET, FESTIVAL))
    source = add(app, "ical", httpserver.url_for("/fairs.ics"), SETTINGS, country="JP")
    with app.test_request_context("/"):
        from connectors.base import Record
        from hub.sync import batches
        from hub.sync.models import PartnerSource, SyncRun

        run = SyncRun(source_id=source, status="running")
        db.session.add(run)
        db.session.commit()
        old = Record("market@partner", "fairs", {
            "source_language": "en", "translations": {"en": {"title": "Weekly market"}},
            "start_date": "2027-03-01", "start_time": "09:00", "end_time": "12:00",
            "timezone": "Asia/Tokyo",
        })  # fmt: skip
        batches.ingest(db.session.get(PartnerSource, source), [old], run)
    assert entries(app, source)["market@partner"][2] is True
    # It was all the source held: a sharp shrink, held until an administrator confirms.
    result = sync(app, source)
    assert (result["status"], result["created"], result["deleted"], result["held"]) == (
        "held", 6, 0, 1)  # fmt: skip
    with app.test_request_context("/"):
        from hub.sync import services

        run_id = db.session.scalar(select(func.max(SyncRun.id)))
        assert services.decide_held(source, run_id, confirm=True) == 1
    assert entries(app, source)["market@partner"][2] is False
