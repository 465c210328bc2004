"""``ical``: a fair calendar in iCalendar (RFC 5545), read with the ``icalendar`` package.

Settings: ``{"language": "en", "timezone": "Asia/Ho_Chi_Minh"}``: the language of the texts, and
the zone for events given in UTC or without a zone. Each VEVENT is a fair keyed by its UID:
all-day and multi-day events, times in their own zones (TZID), ``STATUS:CANCELLED``.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import icalendar

from connectors._util import check_keys, check_language
from connectors.base import Connector, ConnectorError, Record, register


def _zone_key(moment):
    tz = moment.tzinfo
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key is None and tz is not None and moment.utcoffset() == timedelta(0):
        key = "UTC"
    return key


@register
class ICalConnector(Connector):
    single_document = True
    kind = "ical"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "timezone"), self.kind)
        zone = settings.get("timezone", "UTC")
        if (
            not isinstance(zone, str)
            or not 1 <= len(zone) <= 64
            or zone not in available_timezones()
        ):
            raise ValueError(f"{zone!r} is not an IANA time zone")
        return {"language": check_language(settings), "timezone": zone}

    def read(self, client, settings, state):
        url = settings["url"]
        text = client.get(url, conditional=True).text()
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except ValueError as exc:
            raise ConnectorError(f"not an iCalendar file: {exc}", url) from None
        default_zone = ZoneInfo(settings["timezone"])
        language = settings["language"]
        for event in calendar.walk("VEVENT"):
            uid = str(event.get("UID") or "")
            try:
                fields = self._when(event, default_zone)
            except (KeyError, ValueError, TypeError) as exc:
                fields = {"start_date": f"unreadable ({exc})"}  # refused with that reason
            data = {
                "source_language": language,
                "translations": {
                    language: {
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
            yield Record(partner_id=uid, collection="fairs", data=data)
        return {}

    @staticmethod
    def _when(event, default_zone):
        start = event.decoded("DTSTART")
        if "DTEND" in event:
            end = event.decoded("DTEND")
        elif "DURATION" in event:
            end = start + event.decoded("DURATION")
        else:
            end = start + timedelta(days=1) if not isinstance(start, datetime) else start
        if not isinstance(start, datetime):  # all-day: DTEND is the day after the last one
            last = end - timedelta(days=1) if isinstance(end, date) and end > start else start
            return {"start_date": start.isoformat(), "end_date": last.isoformat(), "all_day": True,
                    "timezone": default_zone.key}  # fmt: skip
        zone_key = _zone_key(start)
        if start.tzinfo is None or zone_key in (None, "UTC", "Etc/UTC"):
            zone = default_zone
            start = (start if start.tzinfo else start.replace(tzinfo=default_zone)).astimezone(zone)
            end = (end if end.tzinfo else end.replace(tzinfo=default_zone)).astimezone(zone)
            zone_key = zone.key
        else:
            end = end.astimezone(start.tzinfo)
        return {
            "start_date": start.date().isoformat(),
            "end_date": end.date().isoformat(),
            "start_time": start.time().replace(tzinfo=None).isoformat(timespec="minutes"),
            "end_time": end.time().replace(tzinfo=None).isoformat(timespec="minutes"),
            "all_day": False,
            "timezone": zone_key,
        }
