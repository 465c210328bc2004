"""The connector contract.

A connector reads one kind of partner dataset (another hub's changes feed, a JSON Feed, a CSV
product list, an iCalendar file, a CKAN portal) and turns it into records in the hub's exchange
format. It is deliberately ignorant of the hub: it imports nothing from ``hub``, never touches
the database, and never opens a network connection of its own.

What a connector is given
    ``client``   an HTTP client provided by the hub (the safe fetcher: address guard, deadline,
                 size cap, conditional GET, retries). The connector calls ``client.get(url, …)``
                 and nothing else for I/O. An answer of 4xx fails the run, but for the statuses
                 the connector reads itself, ``client.get(url, accept=(410,))``: that answer is
                 returned, its ``status`` set.
    ``settings`` the source's settings, already checked by ``validate_settings``.
    ``state``    what the connector saved at the end of its last successful run (a cursor, a
                 page token, validators…), or ``{}`` on the first run.

What it yields
    ``Record`` objects, each with the partner's own id and the entry in the exchange format, and
    ``Tombstone`` objects for entries the partner deleted. It yields them as it reads, so that
    memory stays flat however large the feed is.

What it returns
    ``read`` is a generator; its return value (``StopIteration.value``) is the new state. The
    hub saves that state only after everything yielded has been written, so a run that fails
    half-way starts again from the old state.

A snapshot that leaves out entries on purpose (a calendar read over a window of time) names
them with ``keep(ids, ended_before)`` in its state: they are not taken as deleted.

A run of an incremental connector that had to read the partner's whole dataset again from its
start (the partner's history started again: a hub restored from a backup) returns
``resynced()`` merged into its state: if the run is complete, the hub then settles what the
source holds that the run did not list as it does after a complete snapshot.

A run that could not read the whole dataset (a page limit reached, a portal that lists fewer
records than it counts) returns ``incomplete(reason, **facts)`` merged into its state: the hub
then deletes nothing and reports the run as cut short, with those facts.

What ``validate_settings`` raises
    ``SettingsError`` (a ``ValueError``) for settings it cannot use: an English sentence (for
    logs and the command line) with a ``code`` and plain ``params`` (``setting``, ``fields``…),
    which ``hub.sync.messages`` puts into words in the reader's language, as it does for
    ``ConnectorError``.

What it raises
    ``ConnectorError`` (with what failed and where) for anything that stops the whole run: an
    unreadable document, a protocol the source does not speak. Besides its English sentence
    (for logs) it carries a ``code`` and plain ``params`` (``url``, ``line`` and the facts the
    code's message names), which the hub keeps and puts into words in each reader's language
    (``hub.sync.messages``). A single malformed record is not an error: yield it, and the hub's
    validation quarantines it with its reasons.

What the client also carries
    ``vocabulary`` (optional): the hub's names, in each of its languages, for the fields and
    the values of the exchange format (``{"columns": {field: [names]}, "values": {field:
    {name: value}}, "stars": [patterns]}``), for connectors that read what people wrote.
"""

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ConnectorError(Exception):
    """A run cannot go on; ``where`` says which document, page or line. ``code`` names the
    failure in ``hub.sync.messages``; ``params`` are its facts (plain JSON values)."""

    def __init__(self, message, where=None, *, code=None, **params):
        super().__init__(f"{message} ({where})" if where else message)
        self.where = where
        self.code = code
        self.params = params


class SettingsError(ValueError):
    """Settings a connector cannot use. ``code`` names what is wrong in ``hub.sync.messages``;
    ``params`` are its facts (plain JSON values: the setting's name, the fields named…)."""

    def __init__(self, message, *, code, **params):
        super().__init__(message)
        self.code = code
        self.params = params


INCOMPLETE = "_incomplete"  # the key of the state that says a run was cut short


def incomplete(reason, **facts):
    """The part of a connector's returned state saying it did not read the whole dataset, and
    why: ``reason`` is ``"max_pages"`` (facts: ``pages``) or ``"short"`` (the source counted
    ``expected`` records and gave ``read``)."""
    return {INCOMPLETE: {"reason": reason, **facts}}


RESYNCED = "_resynced"  # the key of the state that says a run read everything again


def resynced():
    """The part of an incremental connector's returned state saying this run read the whole
    dataset again from its start: complete, it counts as a snapshot (what it did not list is
    deleted, under the same guards: ``hub.sync.snapshots.settle_missing``)."""
    return {RESYNCED: True}


KEEP = "_keep"  # the key of the state naming what a snapshot does not list but does not delete


def keep(ids=(), ended_before=None):
    """The part of a snapshot's returned state naming entries it does not list that are not
    deleted for that: ``ids`` (records it could not read this time), and fairs that ended
    before ``ended_before`` (an aware datetime: a calendar read over a window of time does not
    list what took place before the window)."""
    return {
        KEEP: {
            "ids": sorted(ids),
            "ended_before": ended_before.isoformat() if ended_before is not None else None,
        }
    }


class UnknownConnectorKind(LookupError):
    """No connector is registered under that kind."""


@dataclass(frozen=True)
class Record:
    """One entry read from a partner, in the exchange format, keyed by the partner's own id."""

    partner_id: str
    collection: str  # "policies", "experiences", "fairs" or "products"
    data: Mapping[str, Any] = field(default_factory=dict)
    # Optional: the partner's own name for a field of ``data`` (a CSV column: {"stars":
    # "Hạng sao"}), so that a refusal can name what the partner knows it by.
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __reduce__(self):
        # Pickled as its constructor's arguments: half the time of a dataclass's default, and
        # records are pickled twice in a long sync (the snapshot's spool, the worker's batches).
        return (Record, (self.partner_id, self.collection, self.data, self.columns))


@dataclass(frozen=True)
class Tombstone:
    """The partner deleted the entry it knew as ``partner_id``."""

    partner_id: str
    collection: str


class Connector:
    """Base class of every connector kind; subclasses set ``kind`` and implement ``read``."""

    kind: ClassVar[str]
    # True when every run reads the whole dataset: what a complete run no longer lists was
    # deleted at the partner. False for incremental sources, which send tombstones.
    full_snapshot: ClassVar[bool] = True
    # True when the whole dataset is the main document (the one read with
    # ``conditional=True``): the same bytes as the last run that took every record then
    # mean nothing changed, as a 304 would (see ``hub.sync.pipeline.SourceClient``).
    single_document: ClassVar[bool] = False

    def validate_settings(self, settings):
        """Return the settings the connector will use, or raise ``SettingsError`` saying what
        is wrong with them. The default accepts any mapping as it is."""
        return dict(settings)

    def read(self, client, settings, state) -> Generator[Record | Tombstone, None, dict]:
        """Yield the source's records and tombstones; return the new state."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Connector]] = {}


def register(cls):
    """Class decorator: make a connector available under its ``kind``."""
    if not getattr(cls, "kind", None):
        raise TypeError(f"{cls.__name__} has no kind")
    if _REGISTRY.get(cls.kind, cls) is not cls:
        raise ValueError(f"connector kind {cls.kind!r} is already registered")
    _REGISTRY[cls.kind] = cls
    return cls


def get_connector(kind):
    """A new connector of ``kind``; raises ``UnknownConnectorKind`` naming the known kinds."""
    try:
        return _REGISTRY[kind]()
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none yet"
        raise UnknownConnectorKind(f"unknown connector kind {kind!r} (known: {known})") from None


def kinds():
    """The registered kinds, sorted."""
    return sorted(_REGISTRY)
