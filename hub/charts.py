"""Charts: the figures a page shows as a chart and, always, as a table.

A view builds a ``Chart`` from its aggregate query; the template macro ``_chart.html`` writes the
table (what a reader without JavaScript, or with a screen reader, gets) and the same figures as a
JSON block that ``static/charts.js`` draws with Chartist. Every text in it, numbers and dates
included, is formatted here by Babel in the page's language, so the chart and the table say the
same thing in the same words and the script formats nothing itself.
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_skeleton
from flask_babel import format_date, format_number, get_locale

EPOCH = date(1970, 1, 1)


@dataclass
class Series:
    """One row of bars or one line: its name (for the legend and the table's heading), its
    values, and its look, a CSS modifier (``solid``, ``hatched``) that draws it with a pattern as
    well as a colour, so that no reader depends on telling colours apart."""

    name: str
    values: list
    look: str = "solid"


@dataclass
class Chart:
    """The figures of one chart. ``kind`` is ``bars`` (vertical), ``rows`` (horizontal bars) or
    ``steps`` (a line that holds its value until the next change, over dates)."""

    kind: str
    category_heading: str  # heading of the table's first column
    categories: list  # the table's row headings and the chart's axis labels
    series: list
    dates: list = field(default_factory=list)  # steps: the date of each category
    end_on: date | None = None  # steps: the line runs on to this date (today)

    def figures(self):
        """The JSON the script draws: labels and values, every text already formatted."""
        data = {
            "kind": self.kind,
            "categories": [str(c) for c in self.categories],
            "series": [
                {
                    "name": str(s.name),
                    "look": s.look,
                    "values": s.values,
                    "labels": [format_number(v) for v in s.values],
                }
                for s in self.series
            ],
        }
        if self.kind == "steps":
            data.update(self._time_axis())
        return data

    def rows(self):
        """``(category, [formatted value per series])`` for the table."""
        return [
            (category, [format_number(s.values[i]) for s in self.series])
            for i, category in enumerate(self.categories)
        ]

    def _time_axis(self):
        first = self.dates[0]
        # At least a day wide, so that a history of one day still has a scale.
        last = max(self.end_on or first, self.dates[-1], first + timedelta(days=1))
        years = range(first.year + 1, last.year + 1)
        if len(years) > 12:
            years = years[:: math.ceil(len(years) / 12)]
        if len(years) >= 2:  # a label at each new year
            ticks = [
                (date(y, 1, 1), format_skeleton("y", date(y, 1, 1), locale=get_locale()))
                for y in years
            ]
        else:  # less than two years: the first and the last day
            ticks = [(d, format_date(d, "medium")) for d in dict.fromkeys((first, last))]
        highest = max(max(s.values) for s in self.series)
        return {
            "x": [_day(d) for d in self.dates],
            "x_range": [_day(first), _day(last)],
            "x_ticks": [[_day(d), label] for d, label in ticks],
            "y_ticks": [[v, format_number(v)] for v in nice_ticks(highest)],
        }


def _day(moment):
    return (moment - EPOCH).days


def nice_ticks(highest, most=5):
    """Whole-number ticks from 0 to at least ``highest``, in at most ``most`` steps of 1, 2 or
    5 × 10ⁿ."""
    if highest <= 0:
        return [0, 1]
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if (count := math.ceil(highest / step)) <= most:
                return list(range(0, step * count + 1, step))
        magnitude *= 10
