"""The benchmark's targets: each measured figure as a ratio to its reference of the same run,
judged against the performance issue's target, and the table that prints them (bench/run.py
measures; see bench/README.md)."""

import sys
import unicodedata

COUNTRY = "TH"  # the country filter of the API figure
PAGE_COUNTRY = "VN"  # the country page


def _figure(name, value, unit, target, ratio=None, met=None, reference=None):
    return {
        "figure": name,
        "median": value,
        "unit": unit,
        "ratio": ratio,
        "reference": reference,
        "target": target,
        "met": met,
    }


def evaluate(http, changes, ingest, media=None, cold=None, mixed=None):
    figures = []

    def rps(name):
        return http[name]["median_rps"] if http and name in http else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    bare = rps("bare")
    if http:
        figures.append(_figure("bare Flask, fixed JSON (the limit)", bare, "req/s", "reference"))
    if http and "api" in http:  # not with --skip-http (then only the media's figure ran)
        figures.append(
            _figure(
                "Datasette, 50-row JSON page (the peer)", rps("datasette"), "req/s", "reference"
            )
        )
        figures.append(
            _figure(
                f"Datasette, 50 rows, country={COUNTRY}",
                rps("datasette_country"),
                "req/s",
                "reference",
            )
        )
        for name, label, peer in (
            ("api", "API list, 50 products, lang=ja", "datasette"),
            (
                "api_country",
                f"API list, 50 products, lang=ja, country={COUNTRY}",
                "datasette_country",
            ),
        ):
            r = ratio(rps(name), bare)
            figures.append(
                _figure(
                    label,
                    rps(name),
                    "req/s",
                    "≥ 0.5 × bare",
                    r,
                    r is not None and r >= 0.5,
                    "bare",
                )
            )
            r = ratio(rps(name), rps(peer))
            figures.append(
                _figure(
                    "  … vs Datasette",
                    rps(name),
                    "req/s",
                    "≥ 10 × Datasette",
                    r,
                    r is not None and r >= 10,
                    peer,
                )
            )
        for name, label, target, low in (
            ("api_304", "304 revalidation (If-None-Match)", "≥ 0.8 × bare", 0.8),
            ("country_page", f"HTML page /ja/countries/{PAGE_COUNTRY}", "≥ 0.35 × bare", 0.35),
            ("products_page", "HTML page /ja/products", "≥ 0.35 × bare", 0.35),
            ("search_vi", "search /vi/search?q=mật ong", "≥ 0.25 × bare", 0.25),
            ("search_en", "search /en/search?q=honey", "≥ 0.25 × bare", 0.25),
            ("search_ja", "search /ja/search?q=はちみつ", "≥ 0.25 × bare", 0.25),
        ):  # fmt: skip
            r = ratio(rps(name), bare)
            figures.append(
                _figure(label, rps(name), "req/s", target, r, r is not None and r >= low, "bare")
            )
    if ingest:
        n = ingest["records"]
        hub = ingest["hub"]
        raw_rate = n / ingest["raw"]["median_s"]
        peer_rate = n / ingest["sqlite_utils"]["median_s"]
        figures.append(
            _figure("raw csv + sqlite3 upsert, 100 000 (the limit)", raw_rate, "rec/s", "reference")
        )
        figures.append(
            _figure("sqlite-utils insert, 100 000 (the peer)", peer_rate, "rec/s", "reference")
        )
        first, resync, small, by_record = (
            hub[key] if key in hub and "wall_s" in hub[key] else None
            for key in ("first_100k", "resync_100k", "first_10k", "resync_records_100k")
        )
        for key, value in hub.items():
            if "wall_s" not in value:
                figures.append(
                    _figure(f"hub {key}: FAILED ({value['error'][:80]})", None, "", "—", met=False)
                )
        if first:
            rate = n / first["wall_s"]
            r = ratio(rate, peer_rate)
            figures.append(
                _figure(
                    "first sync, 100 000 records, validated",
                    rate,
                    "rec/s",
                    "≥ 0.5 × sqlite-utils",
                    r,
                    r is not None and r >= 0.5,
                    "sqlite-utils",
                )
            )
            figures.append(
                _figure(
                    "  … vs the raw limit",
                    rate,
                    "rec/s",
                    "info",
                    ratio(rate, raw_rate),
                    None,
                    "raw",
                )
            )
        if first and resync:
            # The runs' own times: a sync runs in the scheduler's long-lived process, so the
            # child's interpreter start (about a second, the same for both) is not part of it.
            r = resync["run_s"] / first["run_s"]
            figures.append(
                _figure(
                    "unchanged re-sync, 100 000 records (the run)",
                    resync["run_s"],
                    "s",
                    "≤ 5 % of first sync",
                    r,
                    r <= 0.05,
                    "first sync's run",
                )
            )
            figures.append(
                _figure(
                    "  … with its process's start",
                    resync["wall_s"],
                    "s",
                    "info",
                    resync["wall_s"] / first["wall_s"],
                    None,
                    "first sync",
                )
            )
        if first and by_record:
            figures.append(
                _figure(
                    "  … the same records in other bytes (the run)",
                    by_record["run_s"],
                    "s",
                    "info",
                    by_record["run_s"] / first["run_s"],
                    None,
                    "first sync's run",
                )
            )
        if first:
            peak = max(
                first["max_rss_mb"],
                (resync or {}).get("max_rss_mb", 0),
                (by_record or {}).get("max_rss_mb", 0),
            )
            figures.append(
                _figure(
                    "peak memory, syncing 100 000 (with worker)",
                    peak,
                    "MB",
                    "≤ 250 MB",
                    None,
                    peak <= 250,
                )
            )
            if small:
                r = peak / small["max_rss_mb"]
                figures.append(
                    _figure(
                        "  … vs the peak at 10 000 records",
                        peak,
                        "MB",
                        "≤ 1.3 × peak at 10 000",
                        r,
                        r <= 1.3,
                        f"{small['max_rss_mb']:.0f} MB",
                    )
                )
    if media:
        figures.extend(_media_figures(media, http, bare))
    if mixed:
        figures.extend(_mixed_figures(mixed))
    if changes:
        rate = changes["records_per_s"]
        label = "following the changes feed from 0"
        if not changes["complete"]:
            label += f" (bounded: first {changes['records']:,} records)"
        figures.append(
            _figure(
                label,
                rate,
                "rec/s",
                "≥ 20 000 rec/s",
                None,
                bool(rate and rate >= 20_000 and changes["complete"]),
            )
        )
    if cold:
        figures.extend(_cold_figures(cold))
    return figures


SEARCH_LANGS = ("vi", "en", "ja")


def _ms_text(value):
    return "—" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def _cold_figures(cold):
    """Every request distinct (bench/cold.py): each figure against its peer or reference of the
    same rounds."""
    figures = []

    def got(name, key="median_rps"):
        return cold[name].get(key) if name in cold else None

    def label(text, name):
        repeated = got(name, "repeated")
        return text + (f" ({repeated:,} repeated)" if repeated else "")

    bare = got("bare")
    figures.append(_figure("cold: bare Flask, fixed JSON (the limit)", bare, "req/s", "reference"))
    for lang in SEARCH_LANGS:
        peer, hub = f"datasette_search_{lang}", f"search_{lang}"
        if hub not in cold:
            continue
        peer_rps = got(peer)
        figures.append(
            _figure(
                label(
                    f"cold: Datasette FTS search, {lang}, {got(peer, 'paths'):,} queries "
                    f"(the peer; p50 {_ms_text(got(peer, 'p50_ms'))}, "
                    f"p95 {_ms_text(got(peer, 'p95_ms'))})",
                    peer,
                ),
                peer_rps,
                "req/s",
                "reference",
            )
        )
        r = _ratio(got(hub), peer_rps)
        figures.append(
            _figure(
                label(f"cold search /{lang}/search?q=…, {got(hub, 'paths'):,} queries", hub),
                got(hub),
                "req/s",
                "≥ 1 × Datasette FTS",
                r,
                r is not None and r >= 1,
                peer,
            )
        )
        p95 = got(hub, "p95_ms")
        figures.append(
            _figure(
                f"  … its p95 latency under load (p50 {_ms_text(got(hub, 'p50_ms'))})",
                p95,
                "ms",
                "for information",
            )
        )
        alone = f"{hub}_alone"
        if alone in cold:
            p95 = got(alone, "p95_ms")
            figures.append(
                _figure(
                    f"  … its p95 latency, one client (p50 {_ms_text(got(alone, 'p50_ms'))}, "
                    f"{got(alone, 'paths'):,} other queries)",
                    p95,
                    "ms",
                    "≤ 50 ms",
                    None,
                    p95 is not None and p95 <= 50,
                )
            )
    for name, text in (
        ("list_html", "cold filtered lists, HTML /<lang>/products?…"),
        ("list_api", "cold filtered lists, API /api/v1/products?…"),
    ):
        if name in cold:
            r = _ratio(got(name), bare)
            figures.append(
                _figure(
                    label(f"{text}, {got(name, 'paths'):,} combinations", name),
                    got(name),
                    "req/s",
                    "≥ 0.25 × bare",
                    r,
                    r is not None and r >= 0.25,
                    "bare",
                )
            )
    for kind, text in (("html", "HTML ?after="), ("api", "API cursor=")):
        first, deep = f"page1_{kind}", f"page500_{kind}"
        if deep not in cold:
            continue
        figures.append(
            _figure(
                label(f"cold list page 1, {text} (p50 {_ms_text(got(first, 'p50_ms'))})", first),
                got(first),
                "req/s",
                "reference",
            )
        )
        # The time of a request at the same load: the inverse of the rate.
        r = _ratio(got(first), got(deep))
        figures.append(
            _figure(
                label(f"cold list page 500, {text} (p50 {_ms_text(got(deep, 'p50_ms'))})", deep),
                got(deep),
                "req/s",
                "time ≤ 1.5 × page 1",
                r,
                r is not None and r <= 1.5,
                first,
            )
        )
    changes = cold.get("changes")
    if changes:
        raw, feed = changes.get("raw_median"), changes.get("feed_median")
        limits = ", ".join(str(x["limit"]) for x in changes["feed"])
        figures.append(
            _figure(
                "cold: the feed's rows read and written as JSON (the raw limit)",
                raw,
                "rec/s",
                "reference",
            )
        )
        r = _ratio(feed, raw)
        text = f"cold: following the changes feed from 0 (limit {limits})"
        if not changes.get("feed_complete"):
            text += " (bounded: not to the end)"
        figures.append(
            _figure(
                text,
                feed,
                "rec/s",
                "≥ 0.5 × raw",
                r,
                r is not None and r >= 0.5 and bool(changes.get("feed_complete")),
                "raw",
            )
        )
    return figures


def _mixed_figures(mixed):
    """The mixed load (bench/run.py, ``mixed_figure``): what the hub answered while 4 writers,
    4 readers and a partner's sync ran at once; met when no answer was an error, every
    accepted write read back afterwards and the sync ended well."""
    sound = (
        mixed.get("errors") == 0
        and mixed.get("unread") == 0
        and mixed.get("lost_connections") == 0
        and mixed.get("sync") in ("ok", "partial")
    )
    detail = f"{mixed.get('errors')} errors, {mixed.get('unread')} unread, sync {mixed.get('sync')}"
    return [
        _figure(
            f"mixed load: API writes under a sync (p95 {_ms_text(mixed.get('write_p95_ms'))})",
            mixed.get("writes_per_s"),
            "req/s",
            "0 errors, all read back",
            met=sound,
        ),
        _figure(
            f"mixed load: page and API reads (p95 {_ms_text(mixed.get('read_p95_ms'))}; {detail})",
            mixed.get("reads_per_s"),
            "req/s",
            "0 errors",
            met=mixed.get("errors") == 0,
        ),
    ]


def _ratio(a, b):
    return a / b if a is not None and b else None


def _media_figures(media, http, bare):
    figures = []
    hub, pillow, full = media.get("hub", {}), media.get("pillow", {}), media.get("pillow_full", {})
    ms = {k: (v.get("median_s") * 1000 if v.get("median_s") else None) for k, v in media.items()
          if k in ("hub", "pillow", "pillow_full")}  # fmt: skip
    photo = media.get("photo", {})
    size = f"{photo.get('width', '?')}×{photo.get('height', '?')}"
    figures.append(
        _figure(
            f"Pillow alone, {size} JPEG, the same work (the reference)",
            ms.get("pillow"),
            "ms",
            "reference",
        )
    )
    figures.append(
        _figure(
            "  … the straightforward way (full decode, each width from it)",
            ms.get("pillow_full"),
            "ms",
            "info",
        )
    )
    for name, value in (("hub", hub), ("pillow", pillow), ("pillow_full", full)):
        if value.get("failed"):
            figures.append(
                _figure(
                    f"media {name}: {value['failed']} round(s) FAILED", None, "", "—", met=False
                )
            )
    t = ms.get("hub")
    figures.append(
        _figure(
            f"photo processed, {size} JPEG → 6 variants",
            t,
            "ms",
            "≤ 1.5 s",
            None,
            t is not None and t <= 1500,
        )
    )
    cpu = hub.get("median_cpu_s")
    figures.append(
        _figure(
            "  … its CPU time (less disturbed by a shared machine)",
            cpu * 1000 if cpu else None,
            "ms",
            "info",
            cpu / pillow["median_cpu_s"] if cpu and pillow.get("median_cpu_s") else None,
            None,
            "pillow's CPU time",
        )
    )
    r = t / ms["pillow"] if t is not None and ms.get("pillow") else None
    figures.append(
        _figure(
            "  … vs Pillow alone",
            t,
            "ms",
            "≤ 1.3 × Pillow",
            r,
            r is not None and r <= 1.3,
            "pillow",
        )
    )
    peak = hub.get("peak_mb")
    figures.append(
        _figure(
            "peak memory, processing the photo (with the app)",
            peak,
            "MB",
            "≤ 300 MB",
            None,
            peak is not None and peak <= 300,
            f"Pillow alone {pillow['peak_mb']:.0f} MB" if pillow.get("peak_mb") else None,
        )
    )
    served = media.get("served")
    if served is not None or (http and "media" in http):
        value = http["media"]["median_rps"] if http and "media" in http else None
        label = "serving a variant, /media/<key>"
        if served:
            label += f" ({served['width']} px {served['format']}, {served['bytes'] / 1024:.0f} KB)"
        r = value / bare if value is not None and bare else None
        figures.append(
            _figure(label, value, "req/s", "≥ 0.5 × bare", r, r is not None and r >= 0.5, "bare")
        )
        same = rps_of(http, "bare_media")
        if same is not None:
            figures.append(
                _figure(
                    "  … bare Flask sending the same file (send_file)",
                    same,
                    "req/s",
                    "info",
                    same / bare if bare else None,
                    None,
                    "bare",
                )
            )
            figures.append(
                _figure(
                    "  … the hub vs bare Flask sending it",
                    value,
                    "req/s",
                    "info",
                    value / same if value is not None and same else None,
                    None,
                    "bare send_file",
                )
            )
    return figures


def rps_of(http, name):
    return http[name]["median_rps"] if http and name in http else None


def _fmt(value, unit):
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "s":
        return f"{value:,.1f} s"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def _width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width):
    return text + " " * (width - _width(text))


def print_table(figures, out=sys.stdout):
    rows = [("figure", "median", "ratio", "target", "met")]
    for f in figures:
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:.3g} ×"
        met = (
            {True: "met", False: "NOT MET", None: ""}[f["met"]]
            if f["target"] not in ("reference", "info")
            else ""
        )
        rows.append((f["figure"], _fmt(f["median"], f["unit"]), ratio, f["target"], met))
    widths = [max(_width(r[i]) for r in rows) for i in range(5)]
    line = "  ".join("-" * w for w in widths)
    for index, row in enumerate(rows):
        print("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
        if index == 0:
            print(line, file=out)
