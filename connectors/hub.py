"""``hub``: another hub's changes feed (``/api/v1/changes``), incremental by change sequence,
tombstones applied: how hubs federate.

The source's URL is the other hub's root (``https://hub.example``). Settings:
``{"country": "VN", "limit": 500, "max_pages": 200}``: the country whose entries to follow (the
source's own), how many changes a page, how many pages a run. The saved state is the last change
sequence number read, so each run reads only what changed since.
"""

import json
from urllib.parse import urlencode

from connectors._util import check_keys
from connectors.base import Connector, ConnectorError, Record, Tombstone, incomplete, register


@register
class HubConnector(Connector):
    kind = "hub"
    full_snapshot = False  # incremental: deletions come as tombstones

    def validate_settings(self, settings):
        check_keys(settings, ("country", "limit", "max_pages"), self.kind)
        country = settings.get("country")
        if not isinstance(country, str) or len(country) != 2 or not country.isalpha():
            raise ValueError("country must be the two-letter code of the country to follow")
        limit = settings.get("limit", 500)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError("limit must be a number from 1 to 1000")
        max_pages = settings.get("max_pages", 200)
        if not isinstance(max_pages, int) or not 1 <= max_pages <= 10000:
            raise ValueError("max_pages must be a number from 1 to 10000")
        return {"country": country.upper(), "limit": limit, "max_pages": max_pages}

    def read(self, client, settings, state):
        root = settings["url"].rstrip("/")
        since = state.get("since", 0)
        if not isinstance(since, int) or since < 0:
            since = 0
        for _page in range(settings["max_pages"]):
            query = urlencode(
                {"since": since, "limit": settings["limit"], "country": settings["country"]}
            )
            url = f"{root}/api/v1/changes?{query}"
            try:
                page = json.loads(client.get(url).text())
            except json.JSONDecodeError as exc:
                raise ConnectorError(f"not JSON: {exc.msg}", url) from None
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ConnectorError("not a changes feed (no items list)", url)
            for item in page["items"]:
                if not isinstance(item, dict):
                    continue
                partner_id, collection = (
                    str(item.get("id") or ""),
                    str(item.get("collection") or ""),
                )
                if item.get("deleted"):
                    yield Tombstone(partner_id, collection)
                else:
                    record = item.get("record")
                    yield Record(partner_id, collection, record if isinstance(record, dict) else {})
            next_since = page.get("next_since")
            if not isinstance(next_since, int) or next_since < since:
                raise ConnectorError("the feed's next_since went backwards", url)
            if not page.get("more"):
                return {"since": next_since}
            if next_since == since:  # "more", and the same place again: it would never end
                raise ConnectorError(f"the feed says there is more but stays at {since}", url)
            since = next_since
        # Pages left for the next run, which goes on from here.
        return {"since": since, **incomplete("max_pages", pages=settings["max_pages"])}
