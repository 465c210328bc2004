"""``jsonfeed``: a JSON Feed 1.1 (https://jsonfeed.org/version/1.1), its items as experiences or
policies. Settings: ``{"collection": "experiences" | "policies", "language": "en",
"max_pages": 20}``. An item's ``language`` (else the feed's, else the setting) says what its
texts are written in; ``next_url`` pages are followed.
"""

import json

from connectors._util import check_keys, check_language, html_to_text, language_of
from connectors.base import Connector, ConnectorError, Record, incomplete, register


@register
class JsonFeedConnector(Connector):
    kind = "jsonfeed"

    def validate_settings(self, settings):
        check_keys(settings, ("collection", "language", "max_pages"), self.kind)
        collection = settings.get("collection", "experiences")
        if collection not in ("experiences", "policies"):
            raise ValueError("collection must be experiences or policies")
        max_pages = settings.get("max_pages", 20)
        if not isinstance(max_pages, int) or not 1 <= max_pages <= 1000:
            raise ValueError("max_pages must be a number from 1 to 1000")
        return {
            "collection": collection,
            "language": check_language(settings),
            "max_pages": max_pages,
        }

    def read(self, client, settings, state):
        url, seen_pages = settings["url"], set()
        for page in range(settings["max_pages"]):
            response = client.get(url, conditional=page == 0)
            try:
                feed = json.loads(response.text())
            except json.JSONDecodeError as exc:
                raise ConnectorError(f"not JSON: {exc.msg} at line {exc.lineno}", url) from None
            if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(
                "https://jsonfeed.org/version/1"
            ):
                raise ConnectorError("not a JSON Feed (no jsonfeed.org version)", url)
            items = feed.get("items")
            if not isinstance(items, list):
                raise ConnectorError("a JSON Feed needs an items list", url)
            feed_language = feed.get("language")
            for item in items:
                if not isinstance(item, dict):
                    continue
                language = language_of(
                    item.get("language"), feed_language, default=settings["language"]
                )
                body = item.get("content_text") or html_to_text(item.get("content_html"))
                data = {
                    "source_language": language,
                    "translations": {
                        language: {
                            "title": str(item.get("title") or ""),
                            "summary": str(item.get("summary") or ""),
                            "body": str(body or ""),
                        }
                    },
                }
                if settings["collection"] == "policies" and item.get("url"):
                    data["link"] = item["url"]
                yield Record(
                    partner_id=str(item.get("id") or ""),
                    collection=settings["collection"],
                    data=data,
                )
            seen_pages.add(url)
            next_url = feed.get("next_url")
            if not next_url or next_url in seen_pages:
                return {}
            url = next_url
        return incomplete("max_pages", pages=settings["max_pages"])
