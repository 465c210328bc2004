"""A mixed load: API writers and page and API readers at once, against one or several servers
of the same hub, while whatever else runs beside them (a partner's sync, the scheduler) goes on.

``MixedLoad(...).run()`` returns a ``Report``: writes and reads answered per second, their p95,
every answer that was an error (5xx, or a 4xx a well-formed request should never get), the
connections lost (a server killed under load: such a request was never accepted), and, for
each accepted write, how long it took to be readable through another server. ``verify`` then
reads every accepted write back. Used by ``make bench`` (bench/run.py, the mixed-load figure)
and by tests/test_processes.py, which runs it against two gunicorn instances and the scheduler.

Only the standard library and requests: the test suite imports it without the benchmark's
requirements. Every loop is bounded by the run's duration and each request by a timeout.
"""

import itertools
import threading
import time
from dataclasses import dataclass, field

import requests

TIMEOUT = 30  # seconds a single request may take
VISIBLE_WITHIN = 5.0  # how long the checker tries before it calls a write invisible

# What the readers ask, in turn: lists with filters (new ones in each round), pages in the
# three languages, a search, the changes feed and the registry.
READ_PATHS = (
    "/api/v1/products?country=VN&limit=20",
    "/api/v1/products?country=VN&stars={stars}&limit=20",
    "/{lang}/products?country=VN",
    "/{lang}/products?country=VN&stars={stars}&page_size=20",
    "/api/v1/search?q={word}&limit=10",
    "/api/v1/changes?since={since}&limit=50",  # followed: each reader from where it was
    "/{lang}/countries",
    "/api/v1/countries",
)
WORDS = ("trà", "mật ong", "gạo", "cà phê", "nước mắm", "tea", "honey", "rice")
LANGS = ("vi", "en", "ja")


def product(serial, writer):
    """A new product, valid by the hub's rules, named after the writer and its serial number."""
    return {
        "source_language": "vi",
        "status": "published",
        "translations": {
            "vi": {"title": f"Trà thử tải {writer}-{serial}"},
            "en": {"title": f"Load test tea {writer}-{serial}"},
        },
        "product_group": "beverages",
        "rating_scheme": "ocop",
        "stars": 1 + serial % 5,
        "rated_on": "2025-03-01",
    }


@dataclass
class Report:
    seconds: float = 0.0
    writes: int = 0  # accepted (2xx)
    reads: int = 0  # answered 200 or 304
    write_times: list = field(default_factory=list)
    read_times: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (method, path, status, first bytes of body)
    lost: int = 0  # connections that broke before an answer
    accepted: list = field(default_factory=list)  # (entry id, stars, base that accepted it)
    visible_after: list = field(default_factory=list)  # seconds, for writes checked elsewhere
    invisible: list = field(default_factory=list)  # entry ids never seen elsewhere in time

    @staticmethod
    def p95(times):
        ordered = sorted(times)
        return ordered[int(0.95 * (len(ordered) - 1))] if ordered else None

    def summary(self):
        return {
            "seconds": round(self.seconds, 1),
            "writes": self.writes,
            "reads": self.reads,
            "writes_per_s": round(self.writes / self.seconds, 1) if self.seconds else 0,
            "reads_per_s": round(self.reads / self.seconds, 1) if self.seconds else 0,
            "write_p95_ms": _ms(self.p95(self.write_times)),
            "read_p95_ms": _ms(self.p95(self.read_times)),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "lost_connections": self.lost,
            "visible_p95_ms": _ms(self.p95(self.visible_after)),
            "visible_max_ms": _ms(max(self.visible_after, default=None)),
            "invisible": len(self.invisible),
        }


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


class MixedLoad:
    """``writers`` threads POST products (and PATCH one in five back), ``readers`` threads GET
    ``READ_PATHS``, for ``seconds``; each thread goes round ``bases`` (the servers). With
    ``check_elsewhere``, each writer reads what it wrote through another base than the one that
    accepted it, until it shows (at most ``VISIBLE_WITHIN`` s), before it writes again."""

    def __init__(self, bases, headers, writers=4, readers=4, seconds=60, check_elsewhere=False):
        self.bases = list(bases)
        self.headers = dict(headers)
        self.writers = writers
        self.readers = readers
        self.seconds = seconds
        self.check_elsewhere = check_elsewhere and len(self.bases) > 1
        self.report = Report()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self):
        threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True)
            for n in range(self.writers)
        ] + [
            threading.Thread(target=self._read, args=(n,), daemon=True) for n in range(self.readers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        self._stop.wait(self.seconds)
        self._stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT + VISIBLE_WITHIN + 5)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _error(self, method, path, response):
        with self._lock:
            self.report.errors.append((method, path, response.status_code, response.text[:200]))

    def _send(self, session, method, base, path, **kwargs):
        """The answer, or None when the connection broke (counted as lost)."""
        begun = time.monotonic()
        try:
            response = session.request(method, base + path, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError:
            with self._lock:
                self.report.lost += 1
            return None, 0.0
        return response, time.monotonic() - begun

    def _write(self, number):
        session = requests.Session()
        session.headers.update(self.headers)
        bases = itertools.cycle(self.bases[number % len(self.bases) :] + self.bases)
        mine = []
        for serial in itertools.count():
            if self._stop.is_set():
                break
            base = next(bases)
            if mine and serial % 5 == 4:
                entry_id = mine[serial % len(mine)]
                stars = 1 + (serial + 2) % 5
                path = f"/api/v1/products/{entry_id}"
                response, took = self._send(session, "PATCH", base, path, json={"stars": stars})
                expected = 200
            else:
                record = product(serial, number)
                stars, path = record["stars"], "/api/v1/products"
                response, took = self._send(session, "POST", base, path, json=record)
                expected = 201
            if response is None:
                continue
            if response.status_code != expected:
                self._error("PATCH" if expected == 200 else "POST", path, response)
                continue
            entry_id = response.json()["id"]
            with self._lock:
                self.report.writes += 1
                self.report.write_times.append(took)
                self.report.accepted.append((entry_id, stars, base))
            if expected == 201:
                mine.append(entry_id)
            if self.check_elsewhere:
                self._check(session, entry_id, stars, base)
        session.close()

    def _read(self, number):
        session = requests.Session()
        bases = itertools.cycle(self.bases[number % len(self.bases) :] + self.bases)
        since = 0  # where this reader is in the changes feed: it follows it as a partner does
        for round_ in itertools.count(number * 1000):
            if self._stop.is_set():
                break
            template = READ_PATHS[round_ % len(READ_PATHS)]
            path = template.format(
                lang=LANGS[round_ % 3],
                stars=1 + round_ % 5,
                word=WORDS[round_ % len(WORDS)],
                since=since,
            )
            response, took = self._send(session, "GET", next(bases), path)
            if response is None:
                continue
            if response.status_code not in (200, 304):
                self._error("GET", path, response)
                continue
            if "{since}" in template and response.status_code == 200:
                page = response.json()
                since = page["next_since"] if page["more"] else 0  # at the end: from the start
            with self._lock:
                self.report.reads += 1
                self.report.read_times.append(took)
        session.close()

    def _check(self, session, entry_id, stars, base):
        """The write just accepted, read through another server until it shows (the time from
        its answer, at most ``VISIBLE_WITHIN`` s)."""
        accepted = time.monotonic()
        other = next(b for b in self.bases if b != base)
        while True:
            response, _took = self._send(session, "GET", other, f"/api/v1/products/{entry_id}")
            waited = time.monotonic() - accepted
            if response is not None and response.status_code == 200 and _stars(response) == stars:
                with self._lock:
                    self.report.visible_after.append(waited)
                return
            if waited > VISIBLE_WITHIN:
                with self._lock:
                    self.report.invisible.append(entry_id)
                return
            time.sleep(0.01)


def _stars(response):
    return response.json()["stars"]


def verify(base, report):
    """Every accepted write, read back through ``base`` once the load is over: the ids whose
    last accepted write does not show (a write answered 2xx and lost)."""
    last = {}
    for entry_id, stars, _base in report.accepted:
        last[entry_id] = stars  # in the order they were accepted: the last one stands
    missing = []
    with requests.Session() as session:
        for entry_id, stars in last.items():
            response = session.get(f"{base}/api/v1/products/{entry_id}", timeout=TIMEOUT)
            if response.status_code != 200 or _stars(response) != stars:
                missing.append(entry_id)
    return missing
