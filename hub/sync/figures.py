"""What the sync health page draws: runs and refused records per source."""

from flask_babel import gettext as _
from flask_babel import pgettext

from hub.charts import Chart, Series
from hub.registry.regions import territory_name
from hub.sync import queries


def activity_chart(sources, since_dt):
    """Runs and refused records of each of ``sources`` since ``since_dt``."""
    activity = queries.activity_by_source(since_dt)
    counts = [activity.get(source.id, (0, 0)) for source in sources]
    return Chart(
        "rows",
        pgettext("partner source", "Source"),
        [
            _("Source %(id)s (%(country)s)", id=s.id, country=territory_name(s.country_code))
            for s in sources
        ],
        [
            Series(_("Runs"), [runs for runs, _refused in counts]),
            Series(_("Refused records"), [refused for _runs, refused in counts], "hatched"),
        ],
    )
