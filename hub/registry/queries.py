"""Read-side queries of the registry: what the pages (and later the API) show."""

from dataclasses import dataclass

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from hub.extensions import db
from hub.registry.models import Country, MembershipEvent, MembershipStatus, Programme
from hub.registry.regions import CONTINENTS, continent_of, sort_key, subregions_of, territory_name


@dataclass
class RegionSummary:
    code: str
    counts: dict  # status → number of countries
    total: int


def network_overview():
    """Members out of all countries, and the same by continent."""
    rows = db.session.execute(
        select(Country.region, Country.membership_status, func.count()).group_by(
            Country.region, Country.membership_status
        )
    ).all()
    by_status = dict.fromkeys((s.value for s in MembershipStatus), 0)
    regions = {code: RegionSummary(code, dict.fromkeys(by_status, 0), 0) for code in CONTINENTS}
    for region, status, count in rows:
        by_status[status] += count
        summary = regions[continent_of(region)]
        summary.counts[status] += count
        summary.total += count
    return by_status, [r for r in regions.values() if r.total]


def newest_members(limit=6):
    """The latest admissions (re-admissions after a suspension are not new members)."""
    stmt = (
        select(MembershipEvent)
        .join(MembershipEvent.country)
        .options(contains_eager(MembershipEvent.country))
        .where(
            MembershipEvent.status == MembershipStatus.MEMBER,
            Country.membership_status == MembershipStatus.MEMBER,
            or_(
                MembershipEvent.previous_status.is_(None),
                MembershipEvent.previous_status != MembershipStatus.SUSPENDED,
            ),
        )
        .order_by(MembershipEvent.effective_on.desc(), MembershipEvent.id.desc())
        .limit(limit)
    )
    return db.session.scalars(stmt).all()


def members_over_time():
    """``[(date, members)]``: the number of member countries after each day on which it
    changed, oldest first, from the membership history in one aggregate query. A country counts
    from the day it became a member until the day it left that status (a suspension included)."""
    member = MembershipStatus.MEMBER.value
    joined = func.sum(case((MembershipEvent.status == member, 1), else_=0))
    left = func.sum(case((MembershipEvent.previous_status == member, 1), else_=0))
    rows = db.session.execute(
        select(MembershipEvent.effective_on, joined, left)
        .where(or_(MembershipEvent.status == member, MembershipEvent.previous_status == member))
        .group_by(MembershipEvent.effective_on)
        .order_by(MembershipEvent.effective_on)
    ).all()
    members, timeline = 0, []
    for day, came, went in rows:
        members += came - went
        timeline.append((day, members))
    return timeline


def membership_statuses():
    """``{code: membership status}`` of every country in the registry."""
    return dict(db.session.execute(select(Country.code, Country.membership_status)).all())


def programme_families():
    """Each programme acronym with the number of countries running a programme of that name."""
    countries = func.count(distinct(Programme.country_code))
    stmt = (
        select(Programme.acronym, countries)
        .group_by(Programme.acronym)
        .order_by(countries.desc(), Programme.acronym)
    )
    return db.session.execute(stmt).all()


def list_countries(status=None, region=None):
    """Countries with their programmes, filtered by membership status and by continent or
    sub-region, sorted by their name in the current language."""
    stmt = select(Country).options(selectinload(Country.programmes))
    if status:
        stmt = stmt.where(Country.membership_status == status)
    if region:
        stmt = stmt.where(Country.region.in_(subregions_of(region) or [region]))
    countries = db.session.scalars(stmt).all()
    return sorted(countries, key=lambda c: sort_key(territory_name(c.code)))


def get_country(code):
    """One country with its programmes and history, or ``None``."""
    stmt = (
        select(Country)
        .where(Country.code == code)
        .options(selectinload(Country.programmes), selectinload(Country.membership_events))
    )
    return db.session.scalars(stmt).one_or_none()
