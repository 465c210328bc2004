"""``ical``: a fair calendar in iCalendar (RFC 5545), read with ``icalendar`` and its recurring
events expanded with ``recurring-ical-events``.

Settings: ``{"language": "en", "timezone": "Asia/Ho_Chi_Minh", "past_days": 30,
"future_days": 365}``: the language of the texts; the zone for times given in UTC, floating
(no zone) or in a zone with no IANA name; and the window over which recurring events are
expanded, from ``past_days`` before today (UTC) to ``future_days`` after it.

Photos and documents
    An event's ``IMAGE`` (RFC 7986, by URI) and its ``ATTACH`` files given by URI that are
    photos or PDFs (FMTTYPE, or no type) become the fair's ``media``, the image first; the hub
    fetches them after the run. Files inlined as BASE64 are left aside.

Fairs and their ids
    An event that does not recur is one fair, whatever its date, with its UID as id. A recurring
    event (RRULE, RDATE, less its EXDATEs) is expanded over the window, and each occurrence is a
    fair of its own, with the id ``UID@<the occurrence's start>``: the start it has in the series
    (its RECURRENCE-ID) in ISO form, ``2027-03-01`` for an all-day series, ``2027-03-01T10:00:00``
    for a time in the series' own zone or a floating one, ``2027-03-01T03:00:00Z`` in UTC. The
    id depends on neither the window nor the run, so the same occurrence is the same fair in
    every run. An override (a VEVENT with the series' UID and a RECURRENCE-ID) replaces its own
    occurrence only, under that occurrence's id, even when it moves it to another day.

Deletions
    The calendar is a snapshot: what a complete run no longer lists was deleted at the partner,
    with the pipeline's guards (a sharp shrink, or a run that took nothing, is held for review).
    But occurrences leave the window at its past end every day without being deleted at the
    partner: the fair took place. So the state keeps what the last run yielded, each id with
    the end of its occurrence (None for an event that does not recur), and the run returns
    ``keep(ids)`` naming the occurrences that slid out of the back of the window since, and the
    ids of events that cannot be read this time: those are kept as they last were. A past
    occurrence is so read again for ``past_days`` (an edit or a removal in that time reaches the
    hub) and frozen after that; an event that does not recur is listed whatever its date, and
    deleted when it leaves the calendar. A run without that memory (the first one, or the first
    after the source's address or settings changed, which clears the state) keeps every fair
    that ended before its window.

Fetching
    The document is fetched whole at every run (not conditionally, and not skipped when its
    bytes are those of the last run): what it yields depends on the day as well as on the
    document, since the window moves. A run that finds nothing changed costs the fetch, the
    expansion and a fingerprint comparison a fair.

Zones
    A TZID that is an IANA name is used as it is; a Windows name, as Outlook and Exchange write
    them ("W. Europe Standard Time"), is mapped through CLDR's windowsZones table, as the
    ``icalendar`` package ships it (``icalendar.timezone.windows_to_olson``, generated from
    CLDR); a "globally unique" TZID (``/mozilla.org/20050126_1/Europe/Berlin``) by its trailing
    IANA name. The times are the wall-clock times the author wrote, in that zone. A time in UTC,
    floating, or in a zone none of these name ("Customized Time Zone") is the same instant in
    the ``timezone`` setting's zone. ``X-WR-TIMEZONE`` (Google Calendar) is applied first, as
    RFC 5545 would have it written. An all-day event (``VALUE=DATE``) stays all-day even with a
    TZID, which then names the venue's zone.

Ends
    DTEND, else DURATION; with neither, a timed event lasts no time (it ends when it starts)
    and an all-day event lasts its day (RFC 5545, 3.6.1).

Unreadable events
    One bad event never fails the calendar. An event whose dates cannot be read (an impossible
    date such as ``DTSTART;VALUE=DATE:20270230`` or year 0, an unreadable RRULE, EXDATE, RDATE,
    DURATION or RECURRENCE-ID, no DTSTART, an expansion that fails) is yielded with the reason as
    its ``start_date`` (or ``end_date`` for DTEND and DURATION), ``unreadable (DTSTART 20270230
    is not a valid date)``, which the hub refuses and keeps with the record: a recurring event
    under its UID, an override under its occurrence's id (the occurrence is then not yielded
    from the series either). So is a series with more than ``MAX_OCCURRENCES`` occurrences in
    the window (``FREQ=MINUTELY``), which no fair calendar has.
"""

import contextlib
import functools
import warnings
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.error import GloballyUniqueTZIDGuessed
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from connectors._util import check_keys, check_language, check_number, media_list
from connectors.base import Connector, ConnectorError, Record, SettingsError, keep, register

PAST_DAYS, FUTURE_DAYS = 30, 365  # the window's defaults
MAX_PAST_DAYS, MAX_FUTURE_DAYS = 3660, 1830  # ten years back, five ahead
MAX_OCCURRENCES = 10_000  # of one series in the window; a daily one over the widest has 5 491
# The properties that make an event's dates and its recurrence; an error in any of them makes
# the event unreadable (DTEND and DURATION reported as its end, the others as its start).
DATE_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "RDATE", "EXDATE")
UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
     "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0",
     "Etc/Greenwich", "Greenwich"}
)  # fmt: skip


class Unreadable(ValueError):
    """An event whose dates cannot be read: ``field`` is where the hub will refuse it."""

    def __init__(self, message, field="start_date"):
        super().__init__(message)
        self.field = field


@functools.cache
def _zone_names():
    # The IANA zones, less the system's aliases ("localtime" would be the server's own zone).
    return frozenset(
        name
        for name in available_timezones()
        if name not in ("localtime", "posixrules", "Factory")
        and not name.startswith(("posix/", "right/"))
    )


def iana_zone(name):
    """The IANA name of the zone a TZID (or a tzinfo's key) names, or None: the name itself, a
    Windows name through CLDR's windowsZones table, a "globally unique" TZID by its tail."""
    name = str(name or "").strip().strip('"').strip().strip("/")
    if not name:
        return None
    if name in _zone_names():
        return name
    if name in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[name]
    parts = name.split("/")
    for first in range(1, len(parts) - 1):  # /vendor/…/Area/City: the longest tail first
        tail = "/".join(parts[first:])
        if tail in _zone_names():
            return tail
    return None


def _key_of(tzinfo):
    """The name a tzinfo carries: a zoneinfo's key, a pytz zone's name, else None."""
    return getattr(tzinfo, "key", None) or getattr(tzinfo, "zone", None)


def _is_utc(tzinfo):
    return tzinfo is UTC or _key_of(tzinfo) in UTC_NAMES


def _utc_key(moment):
    """``moment`` (a date, a floating or an aware datetime) as naive UTC, ISO to the minute: the
    form the window and the state's ends are compared in (a date is its midnight, a floating
    time its wall clock, as ``recurring-ical-events`` compares them with the window)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0))
    elif moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="minutes")


def _iso(moment):
    """An occurrence's start as its id writes it (see the module's docstring)."""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    utc = moment.tzinfo is not None and _is_utc(moment.tzinfo)
    return moment.replace(tzinfo=None).isoformat() + ("Z" if utc else "")


def _values(event, name):
    """The values of a property that may be given more than once."""
    value = event.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _problem(event):
    """What makes the event's dates unreadable, as an ``Unreadable``; None if nothing does."""
    for name, error in event.errors:
        if name not in DATE_PROPERTIES:
            continue
        raw = next((str(v) for v in _values(event, name) if isinstance(v, icalendar.vBroken)), "")
        raw = " ".join(raw.split())[:100]
        if name == "RRULE":
            message = f"RRULE {raw} is not a valid recurrence rule ({error})"
        elif name == "DURATION":
            message = f"DURATION {raw} is not a valid duration"
        else:
            what = "date and time" if "T" in raw.upper() else "date"
            message = f"{name} {raw} is not a valid {what}"
        return Unreadable(message, "end_date" if name in ("DTEND", "DURATION") else "start_date")
    if "DTSTART" not in event:
        lines = [error for name, error in event.errors if name is None]
        return Unreadable("the event has no DTSTART" + (f" ({lines[0]})" if lines else ""))
    return None


def _dates_stay_dates(event):
    """``VALUE=DATE`` with a TZID: ``icalendar`` makes it midnight in that zone; RFC 5545 gives a
    date no zone, so it becomes a date again (the TZID is kept, as the venue's zone)."""
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = event.get(name)
        if (
            isinstance(prop, icalendar.vDDDTypes)
            and str(prop.params.get("VALUE", "")).upper() == "DATE"
            and isinstance(prop.dt, datetime)
        ):
            fixed = icalendar.vDDDTypes(prop.dt.date())
            fixed.params.update(prop.params)
            event[name] = fixed
    for name in ("EXDATE", "RDATE"):
        lists, changed = [], False
        for prop in _values(event, name):
            if (
                isinstance(prop, icalendar.vDDDLists)
                and str(prop.params.get("VALUE", "")).upper() == "DATE"
                and any(isinstance(d.dt, datetime) for d in prop.dts)
            ):
                fixed = icalendar.vDDDLists(
                    [d.dt.date() if isinstance(d.dt, datetime) else d.dt for d in prop.dts]
                )
                fixed.params.update(prop.params)
                prop, changed = fixed, True
            lists.append(prop)
        if changed:
            event[name] = lists if len(lists) > 1 else lists[0]


def _sequence(event):
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _standard(calendar):
    """The calendar with its ``X-WR-TIMEZONE`` applied (Google Calendar's way of saying which
    zone its UTC and floating times are meant in), if that names a zone."""
    name = calendar.get("X-WR-TIMEZONE")
    if name is None:
        return calendar
    zone = iana_zone(name)
    if zone is None:
        return calendar
    return x_wr_timezone.to_standard(calendar, timezone=ZoneInfo(zone))


def when(event, default_zone, zone_hint=None):
    """The fair's dates, times and zone from an event (or an occurrence of one), as exchange
    format fields; raises ``Unreadable`` (or ValueError, TypeError…) if they cannot be read.
    ``zone_hint``: the series' TZID, for an all-day occurrence (whose own DTSTART has none)."""
    if "DTSTART" not in event:
        raise Unreadable("the event has no DTSTART")
    start_prop = event["DTSTART"]
    start = start_prop.dt
    if "DTEND" in event:
        end = event["DTEND"].dt
    elif "DURATION" in event:
        end = start + event["DURATION"].dt
    else:
        end = start if isinstance(start, datetime) else start + timedelta(days=1)
    if not isinstance(start, datetime):  # all-day: the end is the day after the last one
        if isinstance(end, datetime):
            raise Unreadable("DTSTART is a date but DTEND is a date and time", "end_date")
        last = end - timedelta(days=1) if end > start else start
        zone = iana_zone(start_prop.params.get("TZID") or zone_hint)
        if zone is None or zone in UTC_NAMES:
            zone = default_zone.key
        return {"start_date": start.isoformat(), "end_date": last.isoformat(), "all_day": True,
                "timezone": zone}  # fmt: skip
    if not isinstance(end, datetime):
        raise Unreadable("DTSTART is a date and time but DTEND is a date", "end_date")
    zone = None
    if start.tzinfo is not None:
        zone = iana_zone(_key_of(start.tzinfo)) or iana_zone(start_prop.params.get("TZID"))
    if zone is None or zone in UTC_NAMES:
        # Floating, UTC, or a zone with no IANA name: the same instant in the default zone.
        start = start.astimezone(default_zone) if start.tzinfo else start.replace(tzinfo=None)
        end = end.astimezone(default_zone) if end.tzinfo else end.replace(tzinfo=None)
        zone = default_zone.key
    elif end.tzinfo is not None:
        end = end.astimezone(start.tzinfo)  # the author's wall clock, in the start's zone
    return {
        "start_date": start.date().isoformat(),
        "end_date": end.date().isoformat(),
        "start_time": start.time().replace(tzinfo=None).isoformat(timespec="minutes"),
        "end_time": end.time().replace(tzinfo=None).isoformat(timespec="minutes"),
        "all_day": False,
        "timezone": zone,
    }


@register
class ICalConnector(Connector):
    kind = "ical"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "timezone", "past_days", "future_days"), self.kind)
        zone = settings.get("timezone", "UTC")
        if not isinstance(zone, str) or not 1 <= len(zone) <= 64 or zone not in _zone_names():
            raise SettingsError(
                f"{zone!r} is not an IANA time zone", code="ical_timezone", timezone=str(zone)[:64]
            )
        days = {
            "past_days": check_number(
                settings, "past_days", PAST_DAYS, 0, MAX_PAST_DAYS, days=True
            ),
            "future_days": check_number(
                settings, "future_days", FUTURE_DAYS, 1, MAX_FUTURE_DAYS, days=True
            ),
        }
        return {"language": check_language(settings), "timezone": zone, **days}

    def read(self, client, settings, state):
        url = settings["url"]
        text = client.get(url).text()  # never conditional: the window moves (see above)
        try:
            with warnings.catch_warnings():
                # A "globally unique" TZID's IANA tail is taken, as iana_zone takes it.
                warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
                calendar = _standard(icalendar.Calendar.from_ical(text))
        except ValueError as exc:
            raise ConnectorError(
                f"not an iCalendar file: {exc}", url, code="not_icalendar", error=str(exc), url=url
            ) from None
        today = datetime.now(UTC).date()
        window = (
            datetime.combine(today - timedelta(days=settings["past_days"]), time(0), UTC),
            datetime.combine(today + timedelta(days=settings["future_days"] + 1), time(0), UTC),
        )
        held = state.get("held")
        run = _Run(settings, window, held if isinstance(held, dict) else None)
        groups, anonymous = {}, []
        for event in calendar.walk("VEVENT"):
            _dates_stay_dates(event)
            uid = str(event.get("UID") or "")
            if uid:
                groups.setdefault(uid, []).append(event)
            else:
                anonymous.append(event)
        for event in anonymous:  # no id to give it: the hub refuses it, saying so
            yield run.single("", event)
        for uid, events in groups.items():
            overrides = [e for e in events if "RECURRENCE-ID" in e]
            masters = [e for e in events if "RECURRENCE-ID" not in e]
            if overrides or any("RRULE" in e or "RDATE" in e for e in masters):
                yield from run.series(uid, masters, overrides)
            else:  # the same event given twice: the highest SEQUENCE, else the last, wins
                yield run.single(uid, max(reversed(masters), key=_sequence))
        kept = run.keep()  # before the state: the state remembers what is kept
        return {**run.state(), **kept}


def _uris(event, name):
    """The property's values given by URI (``ATTACH`` may also be inline BASE64: left
    aside), each with its FMTTYPE."""
    values = event.get(name)
    values = values if isinstance(values, list) else [values] if values is not None else []
    for value in values:
        params = getattr(value, "params", {}) or {}
        if str(params.get("ENCODING", "")).upper() == "BASE64" or params.get("VALUE") == "BINARY":
            continue
        yield str(value), params.get("FMTTYPE")


def _media(event):
    """An event's pictures and documents: its ``IMAGE`` (RFC 7986) first, then its
    ``ATTACH`` files that are photos or PDFs (or say no type)."""
    candidates = [(url, mime, None) for url, mime in _uris(event, "IMAGE")]
    candidates += [(url, mime, None) for url, mime in _uris(event, "ATTACH")]
    return media_list(candidates)


class _Run:
    """One run's records, and what it yields and remembers (see "Deletions" above)."""

    def __init__(self, settings, window, previous):
        self.language = settings["language"]
        self.default_zone = ZoneInfo(settings["timezone"])
        self.window = window
        self.previous = previous  # {id: end as _utc_key, or None}, or None without memory
        self.yielded = {}  # this run's ids, with the same values
        self.kept = set()  # ids of events unreadable this run: neither deleted nor forgotten
        self.series_uids = []

    def state(self):
        """What the next run starts from: the ids yielded, and those kept (see ``keep``). An
        empty calendar (held for review by the hub) leaves the memory as it was."""
        if not self.yielded:
            return {"held": self.previous} if self.previous is not None else {}
        previous = self.previous or {}
        kept = {key: previous[key] for key in self.kept if key in previous}
        return {"held": {**kept, **self.yielded}}

    def record(self, partner_id, event, fields, end=None, remember=True):
        if remember:
            self.yielded[partner_id] = end
        data = {
            "source_language": self.language,
            "translations": {
                self.language: {
                    "title": str(event.get("SUMMARY") or ""),
                    "body": str(event.get("DESCRIPTION") or ""),
                }
            },
            "venue": str(event.get("LOCATION") or "") or None,
            "website": str(event.get("URL") or "") or None,
            "fair_status": "cancelled"
            if str(event.get("STATUS", "")).upper() == "CANCELLED"
            else "scheduled",
            **fields,
        }
        if media := _media(event):
            data["media"] = media
        return Record(partner_id=partner_id, collection="fairs", data=data)

    def unreadable(self, partner_id, event, problem, remember=True):
        """A record the hub refuses, saying why: ``problem`` in the field it concerns (its
        start date still given when only its end cannot be read)."""
        reason = f"unreadable ({problem})"
        fields = {"start_date": reason, "timezone": self.default_zone.key}
        if problem.field != "start_date":
            with contextlib.suppress(KeyError, ValueError, TypeError, OverflowError):
                start = when({"DTSTART": event["DTSTART"]}, self.default_zone)
                fields["start_date"] = start["start_date"]
            fields[problem.field] = reason
        return self.record(partner_id, event, fields, remember=remember)

    def single(self, uid, event):
        remember = bool(uid)  # an event without a UID is refused for it, and never held
        problem = _problem(event)
        if problem is None:
            try:
                return self.record(uid, event, when(event, self.default_zone), remember=remember)
            except Unreadable as exc:
                problem = exc
            except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                problem = Unreadable(str(exc))
        return self.unreadable(uid, event, problem, remember=remember)

    def series(self, uid, masters, overrides):
        """The occurrences of a recurring event in the window, each with its own id."""
        self.series_uids.append(uid)
        master = max(reversed(masters), key=_sequence) if masters else None
        problem = _problem(master) if master is not None else None
        if problem is not None:  # the whole series: what the hub holds of it stays as it is
            self._keep_series(uid)
            yield self.unreadable(uid, master, problem, remember=False)
            return
        zone_hint = series_zone = None
        if master is not None:
            zone_hint = master["DTSTART"].params.get("TZID")
            if isinstance(master["DTSTART"].dt, datetime):
                series_zone = master["DTSTART"].dt.tzinfo
        readable, refused = [], set()
        for override in overrides:
            override_problem = _problem(override)
            if override_problem is None:
                readable.append(override)
                continue
            try:  # its occurrence is refused with it, not taken from the series instead
                partner_id = f"{uid}@{self._slot(override, series_zone)}"
            except (ValueError, TypeError, AttributeError, OverflowError):
                partner_id = uid  # not even the occurrence it replaces can be told
            refused.add(partner_id)
            self.kept.add(partner_id)
            yield self.unreadable(partner_id, override, override_problem, remember=False)
        records = []
        try:
            for occurrence in self._expand(([master] if master is not None else []) + readable):
                partner_id = f"{uid}@{self._slot(occurrence, series_zone, readable)}"
                if partner_id in refused or partner_id in self.yielded:
                    continue
                fields = when(occurrence, self.default_zone, zone_hint)
                end = occurrence["DTEND" if "DTEND" in occurrence else "DTSTART"].dt
                records.append((partner_id, occurrence, fields, _utc_key(end)))
        except Exception as exc:  # whatever the expansion met, it fails this series only
            self._keep_series(uid)
            problem = exc if isinstance(exc, Unreadable) else Unreadable(str(exc) or repr(exc))
            yield self.unreadable(uid, master or overrides[0], problem, remember=False)
            return
        for partner_id, occurrence, fields, end in records:
            yield self.record(partner_id, occurrence, fields, end)

    def _expand(self, events):
        """The occurrences of one series in the window, in order of their start."""
        calendar = icalendar.Calendar()
        for event in events:
            calendar.add_component(event)
        start, end = self.window
        end_key = _utc_key(end)
        occurrences = []
        for occurrence in recurring_ical_events.of(calendar).after(start):
            if _utc_key(occurrence["DTSTART"].dt) >= end_key:
                break
            occurrences.append(occurrence)
            if len(occurrences) > MAX_OCCURRENCES:
                raise Unreadable(
                    f"more than {MAX_OCCURRENCES} occurrences between {start.date()} and "
                    f"{end.date()}: not a calendar of fairs"
                )
        return occurrences

    @staticmethod
    def _slot(component, series_zone, overrides=()):
        """The start an occurrence has in its series (its RECURRENCE-ID), in the series' zone.
        An override with ``RANGE=THISANDFUTURE`` moves the occurrences after it too: theirs is
        their start less that move."""
        prop = component["RECURRENCE-ID"]
        slot = prop.dt
        if str(prop.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            for override in overrides:
                if override["RECURRENCE-ID"].dt == slot:
                    moved = override["DTSTART"].dt - slot
                    slot = component["DTSTART"].dt - moved
                    break
        if isinstance(slot, datetime) and slot.tzinfo is not None and series_zone is not None:
            slot = slot.astimezone(series_zone)
        return _iso(slot)

    def _keep_series(self, uid):
        self.kept.add(uid)  # an earlier version's whole-series fair too (see tombstones)
        for partner_id in self.previous or {}:
            if partner_id == uid or partner_id.startswith(f"{uid}@"):
                self.kept.add(partner_id)

    def keep(self):
        """What this run does not list but must not be taken as deleted (``connectors.base.keep``):
        the occurrences the last run yielded that have since slid out of the back of the window
        (they took place), and the ids of events unreadable this time. Without memory of the
        last run, every fair that ended before the window."""
        if self.previous is None:
            return keep(self.kept, ended_before=self.window[0])
        window_start = _utc_key(self.window[0])
        slid = {
            partner_id
            for partner_id, end in self.previous.items()
            if end is not None and end <= window_start
        }
        self.kept |= slid  # remembered on: a later run keeps them too
        return keep(self.kept)
