"""Lighthouse scores every category (performance, accessibility, best practices, SEO) at 0.95 or
more on the pages people land on: the home page, a country, the products list and a product with
photos, each in vi, en and ja, served on loopback and opened by Debian's Chromium.

Lighthouse is npm's, pinned in ``tests/browser/lighthouse/package-lock.json`` and installed by
the suite itself with ``npm ci`` (once; not again while ``node_modules`` matches the lock).
Without node and npm (``apt-get install nodejs npm``) these tests are skipped with the reason,
except under ``CI=true``, where that is a failure.

Lighthouse's default is kept: a phone, emulated, with simulated throttling (a slow 4G network and
a CPU as slow as a mid-tier phone's, computed from one unthrottled load), the view most visitors
of the national portals have. The CPU slowdown is calibrated to this machine as Lighthouse's
documentation says (``cpu_slowdown``: 4x from a fast desktop, 2x from a slower host).
Simulation computes the metrics from what the page loads, so the performance score moves little
with how busy this machine's two cores are (0.99 to 1 here, run after run), but it does move:
the main thread's work in that one load is what the total blocking time is computed from, and a
busy machine once cost a Japanese home page 0.85. A page whose performance is below the minimum
is measured twice more, and the run of median performance is the one judged, as Lighthouse's
documentation advises ("Score Variability": the median of several runs is about twice as stable
as one).

With Debian's Chromium 156, Lighthouse 12.2.3 cannot read the new frame events in its trace: six
diagnostics that count nothing in the scores (the LCP element, layout shifts, render-blocking
resources...) report an error in the JSON; the five metrics of the performance score are measured.
"""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "lighthouse"
REPORTS = HERE / "reports"  # each run's JSON report, not in git: open it in Lighthouse's viewer
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MINIMUM = 0.95

# (name, path): one Lighthouse run each (about 13 s). The pages people land on (issue 20 §1), in
# each language: the home page, a country, the products list and the demo's tea with its photos
# (issue 19: "a product page with photos"); and a product without photos.
LANDING_PAGES = [
    ("home", "/{lang}/"),
    ("country-VN", "/{lang}/countries/VN"),
    ("products", "/{lang}/products"),
    ("photo-product", "/{lang}/products/{photo_product}"),
]
PAGES = [
    (f"{name}-{lang}", path.replace("{lang}", lang))
    for name, path in LANDING_PAGES
    for lang in ("vi", "en", "ja")
] + [("product-en", "/en/products/{product}")]


def _missing(reason):
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true requires Lighthouse; " + reason, pytrace=False)
    pytest.skip(reason + ": the Lighthouse tests cannot run")


def _environment(**extra):
    """This process's environment without libfaketime (.ci/faketime): node and Chromium crawl
    under it, as Playwright's driver does (conftest.py)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    return environment | extra


@pytest.fixture(scope="session")
def lighthouse_cli():
    """The path of Lighthouse's CLI script, installed with ``npm ci`` from the committed lock
    unless ``node_modules`` already holds what the lock says (then nothing is fetched)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _missing("node and npm are not installed (apt-get install nodejs npm)")
    lock = HERE / "package-lock.json"
    stamp = HERE / "node_modules" / ".hub-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=HERE,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            _missing(f"npm ci failed in {HERE}: {done.stderr.strip()[-2000:]}")
        stamp.write_text(digest)
    return [node, str(HERE / "node_modules" / "lighthouse" / "cli" / "index.js")]


# Lighthouse's 4x CPU slowdown takes a high-end desktop (benchmarkIndex 1500 or more) to a
# mid-tier phone. On a slower host its documentation ("Calibrating the CPU slowdown", in
# docs/throttling.md) says to lower it, to target the same phone: 2x from a low-end desktop or a
# high-end phone (800 to 1500), 1x from a mid-tier phone. The first run measures the host; the
# runs after it use the multiplier its benchmarkIndex calls for.
_HOST = {}


def cpu_slowdown(benchmark_index):
    """The CPU multiplier that takes a host of ``benchmark_index`` to a mid-tier phone."""
    if benchmark_index >= 1500:
        return 4
    return 2 if benchmark_index >= 800 else 1


def lighthouse(cli, chromium, url):
    """Lighthouse's JSON report (a dict) of ``url``, with the CPU slowdown calibrated for this
    host (above): its first run measures it, and is made again calibrated if need be."""
    report = _lighthouse(cli, chromium, url, _HOST.get("slowdown"))
    if "slowdown" not in _HOST:
        _HOST["slowdown"] = cpu_slowdown(report["environment"]["benchmarkIndex"])
        if _HOST["slowdown"] != 4:
            report = _lighthouse(cli, chromium, url, _HOST["slowdown"])
    return report


def _lighthouse(cli, chromium, url, slowdown=None):
    # As in conftest.py: root (CI, containers) cannot use Chromium's sandbox; the browser only
    # ever opens the hub on loopback.
    flags = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
    done = subprocess.run(
        [
            *cli,
            url,
            "--output=json",
            "--output-path=stdout",
            "--only-categories=" + ",".join(CATEGORIES),
            "--chrome-flags=" + flags,
            "--quiet",
            *([f"--throttling.cpuSlowdownMultiplier={slowdown}"] if slowdown else []),
        ],
        env=_environment(CHROME_PATH=chromium),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def failing_audits(report, category):
    """``[(id, title, score)]`` of the audits below 1 that count in ``category``'s score."""
    audits = report["audits"]
    failing = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            failing.append((audit["id"], audit["title"], audit["score"]))
    return failing


def _performance(report):
    return report["categories"]["performance"]["score"] or 0


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
def test_lighthouse_scores_every_category_at_least_95(
    lighthouse_cli, chromium_path, site, name, path
):
    url = site.url + path.format(**site.entries)
    report = lighthouse(lighthouse_cli, chromium_path, url)
    if _performance(report) < MINIMUM:
        runs = [report, *(lighthouse(lighthouse_cli, chromium_path, url) for _ in range(2))]
        report = sorted(runs, key=_performance)[1]
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert not report.get("runtimeError"), report["runtimeError"]
    scores = {c: report["categories"][c]["score"] for c in CATEGORIES}
    print(name, json.dumps(scores), "CPU slowdown", _HOST.get("slowdown"))
    low = {
        category: failing_audits(report, category)
        for category, score in scores.items()
        if score is None or score < MINIMUM
    }
    assert not low, f"{name}: scores {scores}; failing audits by category: {low}"
