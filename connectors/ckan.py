"""``ckan``: a CKAN portal's datasets through its ``package_search`` API, paged, as policies.

Settings: ``{"language": "en", "rows": 100, "fq": "organization:ocop", "max_pages": 50}``. The
source's URL is the portal's root (``https://data.example.gov``).

A dataset's resources (its files and links: ``name``, ``url``, ``format``) and its licence
(``license_title``, ``license_url``, ``license_id``) travel in the record's
``partner_metadata`` (``resources``, ``licence``); the hub shows them on the entry's page.
"""

import json
from urllib.parse import urlencode

from connectors._util import check_keys, check_language
from connectors.base import Connector, ConnectorError, Record, incomplete, register


def _organisation(value):
    return value.get("title") if isinstance(value, dict) else None


def _text(value):
    """A short text on one line (names, formats, addresses): spaces and line breaks collapsed."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _resources(package):
    """A dataset's files and links: ``[{"name", "url", "format"}]``, those with a URL."""
    resources = []
    for resource in package.get("resources") or []:
        if not isinstance(resource, dict) or not _text(resource.get("url")):
            continue
        found = {key: _text(resource.get(key)) for key in ("name", "url", "format")}
        found["url"] = found["url"].replace(" ", "%20")  # portals keep file names as uploaded
        resources.append({key: value for key, value in found.items() if value})
    return resources


def _licence(package):
    """A dataset's licence: ``{"title", "url", "id"}`` as far as the portal gives them."""
    found = {
        "title": _text(package.get("license_title")),
        "url": _text(package.get("license_url")),
        "id": _text(package.get("license_id")),
    }
    return {key: value for key, value in found.items() if value}


def partner_metadata(package):
    metadata = {}
    if resources := _resources(package):
        metadata["resources"] = resources
    if licence := _licence(package):
        metadata["licence"] = licence
    return metadata


@register
class CkanConnector(Connector):
    kind = "ckan"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "rows", "fq", "max_pages"), self.kind)
        rows = settings.get("rows", 100)
        if not isinstance(rows, int) or not 1 <= rows <= 1000:
            raise ValueError("rows must be a number from 1 to 1000")
        max_pages = settings.get("max_pages", 50)
        if not isinstance(max_pages, int) or not 1 <= max_pages <= 1000:
            raise ValueError("max_pages must be a number from 1 to 1000")
        fq = settings.get("fq", "")
        if not isinstance(fq, str):
            raise ValueError("fq must be text")
        return {
            "language": check_language(settings),
            "rows": rows,
            "fq": fq,
            "max_pages": max_pages,
        }

    def read(self, client, settings, state):
        root = settings["url"].rstrip("/")
        language, rows = settings["language"], settings["rows"]
        start = 0
        for _page in range(settings["max_pages"]):
            query = {
                "rows": rows,
                "start": start,
                **({"fq": settings["fq"]} if settings["fq"] else {}),
            }
            url = f"{root}/api/3/action/package_search?{urlencode(query)}"
            try:
                answer = json.loads(client.get(url).text())
            except json.JSONDecodeError as exc:
                raise ConnectorError(
                    f"not JSON: {exc.msg}", url, code="not_json", error=exc.msg, url=url
                ) from None
            if not isinstance(answer, dict) or answer.get("success") is not True:
                raise ConnectorError(
                    "the portal did not answer success", url, code="portal_failed", url=url
                )
            result = answer.get("result")
            if not isinstance(result, dict) or not isinstance(result.get("results", []), list):
                raise ConnectorError(
                    "the portal's answer has no list of results",
                    url,
                    code="portal_no_results",
                    url=url,
                )
            packages = result.get("results") or []
            for package in packages:
                if not isinstance(package, dict):
                    continue
                name = package.get("name") or package.get("id")
                data = {
                    "source_language": language,
                    "translations": {
                        language: {
                            "title": str(package.get("title") or name or ""),
                            "body": str(package.get("notes") or ""),
                        }
                    },
                    "instrument": "other",
                    "issuing_body": _organisation(package.get("organization")),
                    "link": f"{root}/dataset/{name}" if name else None,
                }
                if metadata := partner_metadata(package):
                    data["partner_metadata"] = metadata
                yield Record(
                    partner_id=str(package.get("id") or ""), collection="policies", data=data
                )
            start += len(packages)
            count = result.get("count")
            if not isinstance(count, int) or start >= count:
                return {}
            if not packages:  # fewer datasets than the portal counts: some were not listed
                return incomplete("short", expected=count, read=start)
        return incomplete("max_pages", pages=settings["max_pages"])
