"""What a trade fair shows that depends on the day it is read: its status, and whether it is
upcoming or past.

The status a coordinator (or a partner) stores says what was planned: scheduled, rescheduled,
postponed or cancelled. Once the fair is over, "scheduled" is no longer true: the page says it
was held. A fair is over when its closing instant has passed, the instant taken from its dates
and times in the venue's calendar and zone (``ends_utc``; for an all-day fair, the end of its
last day there): the same test that moves it from the upcoming fairs to the past ones, so a
list and a page never disagree. A postponed or cancelled fair stays so: its dates are not the
days it took place.
"""

from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.db import utcnow
from hub.i18n import fold
from hub.publishing.models import EntryStatus
from hub.registry.regions import territory_name

HELD = "held"
# Stored statuses that become "held" once the fair is over.
BECOME_HELD = ("scheduled", "rescheduled")


def is_over(fair, now=None):
    """Whether ``fair`` has closed by ``now`` (an aware instant; the current one by default)."""
    now = (now or utcnow()).astimezone(UTC)
    if fair.ends_utc is not None:
        return fair.ends_utc <= now
    if fair.ends_local is None:
        return False
    # Without the derived instant (a fair saved before it was kept): by dates, in the venue's
    # calendar when its zone is known, else in UTC's.
    try:
        zone = ZoneInfo(fair.timezone) if fair.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return fair.ends_local.date() < now.astimezone(zone).date()


def shown_status(fair, now=None):
    """The status a reader is shown: the stored one, except ``"held"`` for a scheduled or
    rescheduled fair that is over."""
    status = fair.fair_status or "scheduled"
    if status in BECOME_HELD and is_over(fair, now):
        return HELD
    return status


def ical_status(fair):
    """The iCalendar STATUS of a fair (RFC 5545 3.8.1.11): cancelled, tentative while postponed
    (its dates are not the ones it will have), else confirmed."""
    return {"cancelled": "CANCELLED", "postponed": "TENTATIVE"}.get(fair.fair_status, "CONFIRMED")


@dataclass
class Exhibitors:
    countries: list  # alpha-2 codes, by their name in the reader's language
    products: list  # the published exhibiting products, by country then id


def exhibitors(fair, language):
    """What a fair's page lists as its exhibitors: its published products, and the countries
    exhibiting (those the fair names and those of its products), in ``language``'s order."""
    products = [
        p for p in fair.exhibitors if p.status == EntryStatus.PUBLISHED and p.deleted_dt is None
    ]
    codes = {*(fair.exhibitor_countries or ()), *(p.country_code for p in products)}
    name = {code: territory_name(code, language) for code in codes}
    countries = sorted(codes, key=lambda code: fold(name[code]))
    rank = {code: i for i, code in enumerate(countries)}
    return Exhibitors(countries, sorted(products, key=lambda p: (rank[p.country_code], p.id)))
