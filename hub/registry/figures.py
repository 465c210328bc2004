"""What the registry's pages draw: the network's map and the chart of its members over time."""

from types import SimpleNamespace

from babel.lists import format_list
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from hub.charts import Chart, Series
from hub.db import utctoday
from hub.registry.models import MembershipStatus as S
from hub.registry.regions import sort_key, territory_name
from hub.registry.worldmap import world_map

# The map's order: the network, then the countries on their way in; the statuses a country
# leaves the network by are shown only when some country has them.
MAP_STATUSES = (S.MEMBER, S.APPLICANT, S.PROSPECTIVE, S.SUSPENDED, S.WITHDRAWN)
ALWAYS_ON_MAP = (S.MEMBER, S.APPLICANT, S.PROSPECTIVE)


def network_map(statuses):
    """What the map template needs: the drawing, the countries of each status in the map's
    order (sorted by name in the page's language), the codes of all of them, and the names of
    those the boundary data has no shape for (small islands)."""
    world = world_map()
    groups = {status.value: [] for status in MAP_STATUSES}
    for code, status in statuses.items():
        groups[status].append(code)
    missing = sorted((territory_name(c) for c in statuses if c not in world.shapes), key=sort_key)
    return SimpleNamespace(
        world=world,
        groups=[
            (status, sorted(codes, key=lambda code: sort_key(territory_name(code))))
            for status, codes in groups.items()
            if codes or status in ALWAYS_ON_MAP
        ],
        codes=set(statuses),
        missing=format_list(missing, locale=get_locale()) if missing else "",
    )


def members_chart(timeline):
    """The number of members over time, from ``queries.members_over_time``; None without any."""
    if not timeline:
        return None
    return Chart(
        "steps",
        _("Date"),
        [format_date(day, "long") for day, _members in timeline],
        [Series(_("Members"), [members for _day, members in timeline])],
        dates=[day for day, _members in timeline],
        end_on=utctoday(),
    )
