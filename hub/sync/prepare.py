"""What the pipeline works out about a partner's record before it looks at the database.

For each record of a batch: its content fingerprint, whether it passes the exchange-format schema
and the hub's rules, and, when it does, the entry's field values, its translations' rows and the
head of its item in the changes feed (``hub.publishing.records.item_head``). None of this depends
on what the hub holds, so it can be done anywhere, in any order; the pipeline then only compares
fingerprints, takes change numbers and writes.

That is most of a record's time. A run that goes past ``SYNC_WORKER_AFTER`` records (1 000 unless
set; ``HUB_SYNC_WORKER_AFTER``, ``off`` for never) hands it to a worker process of its own, so
that the next batch is prepared on one core while this one is written on the other. Until the
worker has started, and if it ever stops, batches are prepared here, in their order: the worker
changes when the work is done, never what is written. Messages for refused records are not taken
from the worker: the pipeline works them out again, in every language (``batches._reject``).
"""

import concurrent.futures
import hashlib
import json
import logging
import os
import pickle
import queue
import re
import subprocess
import sys
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import NamedTuple

import orjson
from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError

from connectors.base import Tombstone
from hub.publishing import records
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS, RECORD_SCHEMAS, translate_errors
from hub.publishing.fastload import record_loader
from hub.publishing.models import EntryStatus

log = logging.getLogger(__name__)

load_record = record_loader(RECORD_SCHEMAS)  # marshmallow only where a record needs it
STALE_FINGERPRINT = "0" * 64
MAX_ID_LENGTH = 200


class Prepared(NamedTuple):
    """A record worked out: ``kind`` is None when its collection or id is unusable, ``valid``
    False when the schema or the rules refuse it (both are rejected by the pipeline), ``checked``
    False when it was left as it was because the hub holds it already (the pipeline prepares it
    after all if that is no longer so when it writes)."""

    digest: str
    kind: str | None = None
    checked: bool = True
    valid: bool = False
    values: dict | None = None  # the entry's fields, as the rules clean them
    status: str | None = None
    source_language: str | None = None
    texts: list | None = None  # the translations' rows, the source first, without updated_dt
    head: str | None = None  # the item's head, for a published record


def fingerprint(data):
    """A record's content fingerprint: SHA-256 of its compact JSON with sorted keys (what
    orjson cannot write, a lone surrogate or a huge integer, is written by ``json``)."""
    try:
        text = orjson.dumps(data, default=str, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()


# A lone surrogate (JSON's "\ud800" escape) is text no database can store: a record holding
# one is refused, not allowed to fail its whole batch.
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text):
    return _SURROGATE.search(text) is not None


def usable_id(partner_id):
    text = str(partner_id) if partner_id else ""
    return bool(text) and len(text) <= MAX_ID_LENGTH and not has_lone_surrogate(text)


def storable(value):
    """``value`` (a record's data, or an id) with any lone surrogate replaced by U+FFFD, to
    keep beside the reasons it was refused."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(key): storable(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [storable(inner) for inner in value]
    return value


def _surrogate_at(value, path=""):
    """Where in ``value`` (a record's data) the first lone surrogate is, or None."""
    if isinstance(value, str):
        return (path or "record") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list | tuple):
        pairs = enumerate(value)
    else:
        return None
    for key, inner in pairs:
        here = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and _SURROGATE.search(key):
            return storable(here)
        if (found := _surrogate_at(inner, here)) is not None:
            return storable(found)
    return None


def check(country_code, kind, item):
    """Validate a record: ``(values, texts, source_language, status, errors)``, the errors
    (``{field: [messages]}``) in the current language."""
    try:
        orjson.dumps(item.data, default=str)  # fails on a lone surrogate, among other things
    except orjson.JSONEncodeError:
        if (where := _surrogate_at(item.data)) is not None:
            message = _("This text is not valid Unicode (it has a lone surrogate).")
            return None, None, None, None, {where: [message]}
    try:
        data = load_record(kind, item.data)
    except ValidationError as exc:
        return None, None, None, None, translate_errors(exc.messages)
    errors, texts = {}, {}
    # The record's own country (a hub's changes feed says which it is filed under) and where
    # it was first published; the pipeline checks the source may carry that country.
    country_code = data.pop("country", None) or country_code
    origin = data.pop("origin", None)
    data.pop("media", None)  # fetched after the run's records are written (hub.sync.media)
    # A partner's product ids are its own, not this hub's: its exhibitors are not matched.
    data.pop("exhibitors", None)
    translations = data.pop("translations")
    stale = {language for language, text in translations.items() if text.get("outdated")}
    for language, text in translations.items():
        texts[language], text_errors = publishing.clean_text(kind, language, text)
        errors.update({f"translations.{language}.{k}": [v] for k, v in text_errors.items()})
    source_language = data.pop("source_language")
    status = data.pop("status")
    if source_language not in texts:
        errors["translations"] = [
            _("There is no text in the source language (%(language)s).", language=source_language)
        ]
    # What the issuing hub says of a rating (its signature and withdrawal) is kept as it came:
    # no rule of this hub applies to it (docs/verification.md, "Federation").
    issuer_says = {
        "rating_withdrawn_on": data.pop("rating_withdrawn_on", None),
        "rating_attestation": data.pop("attestation", None),
    }
    if origin is None:  # only a hub's copy carries its issuer's signature
        issuer_says["rating_attestation"] = None
    rule_errors = {}
    values = publishing.FIELD_RULES[kind](data, country_code, rule_errors)
    if values is not None and kind == "product":
        values.update(issuer_says)
    _name_columns(item, rule_errors)
    errors.update({k: [v] for k, v in rule_errors.items()})
    for language in stale & set(texts):
        texts[language]["_outdated"] = True
    if values is not None:
        values.update(record_place(country_code, origin))
    return values, texts, source_language, status, errors


def _name_columns(item, errors):
    """A rating without its date, said in the partner's own terms where the record names the
    columns its fields came from (a CSV source's mapping): «Hạng sao» rather than ``stars``."""
    columns = getattr(item, "columns", None) or {}
    data = item.data if isinstance(item.data, dict) else {}
    if "rated_on" not in errors or "stars" not in columns or data.get("rated_on"):
        return
    if data.get("stars") in (None, ""):
        return
    if "rated_on" in columns:
        errors["rated_on"] = _(
            "Column «%(column)s» gives a rating, but column «%(date_column)s» has no date for "
            "it: give the date of the rating.",
            column=columns["stars"],
            date_column=columns["rated_on"],
        )
    else:
        errors["rated_on"] = _(
            "Column «%(column)s» gives a rating, but no column gives its date: map a column "
            "to rated_on.",
            column=columns["stars"],
        )


def record_place(country_code, origin):
    """The entry columns a record sets besides its kind's fields: its country, and its origin
    (none for a record that gives none: a partner's dataset, a push)."""
    return {
        "country_code": country_code,
        "origin_hub": origin["hub"].rstrip("/") if origin else None,
        "origin_id": origin["id"] if origin else None,
    }


def _with_origins(texts, source_language):
    """``(language, text, fingerprint of the source it was made from, the text's own
    fingerprint if known)`` for an entry's clean texts, the source first. A translation the
    partner marks as outdated stays outdated here: it keeps a source fingerprint that matches
    no version of the text."""
    source = texts.pop(source_language)
    source.pop("_outdated", None)
    current = publishing.fingerprint(source)
    yield source_language, source, None, current
    for language, text in texts.items():
        stale = text.pop("_outdated", False)
        yield language, text, STALE_FINGERPRINT if stale else current, None


def prepare(items, country_code, stored=None):
    """Each of ``items`` (records and tombstones of one source) worked out: a ``Prepared`` for
    a record, None for a tombstone. ``stored`` maps partner ids to the content fingerprints
    of the source's live entries: a record with the same fingerprint is not checked (a feed
    sent again costs a fingerprint a record)."""
    prepared = []
    stored = stored or {}
    for item in items:
        if isinstance(item, Tombstone):
            prepared.append(None)
            continue
        digest = fingerprint({"collection": item.collection, **dict(item.data)})
        kind = COLLECTION_KINDS.get(item.collection)
        if kind is None or not usable_id(item.partner_id):
            prepared.append(Prepared(digest))
            continue
        if stored.get(str(item.partner_id)) == digest:
            prepared.append(Prepared(digest, kind, checked=False))
            continue
        values, texts, source_language, status, errors = check(country_code, kind, item)
        if errors:
            prepared.append(Prepared(digest, kind))
            continue
        values.pop("policies", None)
        values.pop("programme_id", None)
        rows = [
            publishing.text_values(language, text, None, made_from, own)
            for language, text, made_from, own in _with_origins(texts, source_language)
        ]
        for row in rows:
            del row["updated_dt"]  # the moment it is written
        head = None
        if status == EntryStatus.PUBLISHED:
            fields = {
                "kind": kind,
                "country_code": country_code,
                "status": status,
                "source_language": source_language,
                **values,
            }
            head = records.item_head(fields, rows)
        prepared.append(
            Prepared(digest, kind, True, True, values, status, source_language, rows, head)
        )
    return prepared


# ---------------------------------------------------------------------------------------------
# The worker process: ``python -m hub.sync.worker``, spoken to over its standard input and
# output with ``multiprocessing.connection`` (pickled messages). It is started as a program of
# its own, not by multiprocessing's spawn, which would import the parent's main script again.


def worker_after():
    """The records after which a run prepares its batches in a worker (None: never)."""
    return current_app.config.get("SYNC_WORKER_AFTER")


def _picklable(config):
    kept = {}
    for key, value in config.items():
        try:
            pickle.dumps(value)
        except Exception:  # functions, lazy strings: the worker's own app makes its own
            continue
        kept[key] = value
    return kept


class WorkerStopped(Exception):
    """The worker process ended, or could not start."""


class Preparer:
    """Prepares a run's batches, in a worker process once the run is long enough.

    ``submit(batch)`` returns None when the caller is to prepare the batch itself, or else a
    function giving the batch's ``Prepared`` list from the worker, or None: the caller
    prepares it after all. The caller calls those functions in the order it submitted the
    batches. ``close()`` stops the worker.

    The two processes work from opposite ends. This process writes the batches from the
    oldest; the worker, whenever it is free, takes the newest batch nobody has taken, one at a
    time. A batch this process reaches that the worker has not taken is prepared here (its
    function returns None); one the worker is preparing is waited for. So neither waits for
    the other while there is work, and the share each takes follows their speeds, whatever
    the records and the machine.

    Two threads of this process talk to the worker, one sending batches and one taking the
    answers, so that neither side can wait on the other with a full pipe. If the worker stops
    (or never starts), what was sent its way is prepared here instead."""

    START_TIMEOUT = 60  # seconds for the worker to start (it imports and creates the app)

    def __init__(self, country_code, after=None):
        self.country_code = country_code
        self.after = after
        self.seen = 0
        self.batches = self.sent_batches = 0
        self.unanswered = 0  # batches submitted whose answers were not asked for (a failed run)
        self.process = None
        self.untaken = deque()  # (batch, stored, future) submitted, not taken by the worker
        self.taking = threading.Condition()  # guards untaken, busy and closing
        self.busy = False  # the worker has a batch to answer
        self.closing = False
        self.sent = queue.SimpleQueue()  # the futures of the batches sent, in order; None: end
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self.threads = []

    def expect(self, count):
        """``count`` records are coming: a worker is started now if they are enough for one
        (while a document is read whole, before its batches are submitted)."""
        if self.process is None and self.after is not None and count > self.after:
            self._start()

    def working(self):
        """Whether a batch submitted now goes to the worker (it is up and has not stopped)."""
        return self.ready.is_set() and not self.stopped.is_set()

    def submit(self, batch, stored=None):
        """``stored``: a callable giving what ``prepare`` takes as ``stored`` for the batch, if
        it is prepared in the worker (prepared here, it is prepared when it is written and the
        pipeline knows that already)."""
        self.seen += len(batch)
        self.batches += 1
        if self.process is None and self.after is not None and self.seen > self.after:
            self._start()
        if not self.working():
            return None
        future = concurrent.futures.Future()
        with self.taking:
            self.untaken.append((batch, stored() if stored else None, future))
            self.taking.notify_all()
        self.unanswered += 1
        return lambda: self._result(future)

    def _start(self):
        self.after = None  # one worker a run
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub.sync.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
        except OSError as exc:  # no interpreter to run it with: the batches are prepared here
            log.warning("sync: the worker could not start (%s); batches are prepared here", exc)
            return
        # The connections hold copies of the pipes' ends and close them when done.
        sender = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        receiver = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        config = _picklable(current_app.config)
        self.threads = [
            threading.Thread(target=self._send, args=(sender, config), daemon=True),
            threading.Thread(target=self._receive, args=(receiver,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _take(self):
        """The newest batch nobody has taken, once the worker is free; None when closing."""
        with self.taking:
            while not self.closing:
                while not self.busy and self.untaken:
                    request = self.untaken.pop()
                    if request[2].set_running_or_notify_cancel():  # not prepared here already
                        self.busy = True
                        return request
                self.taking.wait()
        return None

    def _send(self, sender, config):
        try:
            sender.send(config)
            while (request := self._take()) is not None:
                batch, stored, future = request
                try:
                    sender.send((batch, self.country_code, stored))
                except Exception as exc:  # a broken pipe, a record that cannot be pickled
                    future.set_exception(WorkerStopped(repr(exc)))
                    raise
                self.sent.put(future)  # the receiver takes its answer
                self.sent_batches += 1
        except Exception as exc:
            self._stop(exc)
        finally:
            self.sent.put(None)
            sender.close()  # the worker reads the end of its input and exits

    def _receive(self, receiver):
        stopped = None
        try:
            if not receiver.poll(self.START_TIMEOUT) or receiver.recv() != "ready":
                raise WorkerStopped("the worker did not start in time")
            self.ready.set()
            log.debug("sync: the worker is ready")
            while (future := self.sent.get()) is not None:
                try:
                    answer = receiver.recv_bytes()
                except (OSError, EOFError) as exc:
                    stopped = WorkerStopped(repr(exc))
                    future.set_exception(stopped)
                    break
                with self.taking:  # the worker is free: it takes the next batch meanwhile
                    self.busy = False
                    self.taking.notify_all()
                ok, answer = pickle.loads(answer)  # our own worker's answer
                if ok:
                    future.set_result(answer)
                else:
                    future.set_exception(answer)
        except (OSError, EOFError, WorkerStopped) as exc:
            stopped = WorkerStopped(repr(exc))
        finally:
            receiver.close()
        if stopped is not None:
            self._stop(stopped)
            while (future := self.sent.get()) is not None:  # until the sender ends
                future.set_exception(stopped)

    def _stop(self, reason):
        if not self.stopped.is_set():
            log.warning("sync: the worker stopped (%s); batches are prepared here", reason)
        self.stopped.set()
        self._close_sender()

    def _close_sender(self):
        with self.taking:
            self.closing = True
            self.taking.notify_all()

    def _result(self, future):
        """The worker's answer for the batch of ``future``, or None (the pipeline prepares it)
        if the worker has not taken it, or stopped before it answered."""
        self.unanswered -= 1
        if future.cancel():  # not taken: this process prepares it now
            with self.taking:  # and lets go of it (the oldest are asked for first)
                while self.untaken and self.untaken[0][2].cancelled():
                    self.untaken.popleft()
            return None
        try:
            return future.result()
        except (WorkerStopped, concurrent.futures.CancelledError):
            return None

    def close(self):
        """Stop the worker: it exits once it reads the end of its input (a thread waits for
        that, so the run does not), or at once if it is still busy with a batch nobody will
        take (the run failed) or still starting."""
        if self.process is None:
            return
        self.stopped.set()
        self._close_sender()
        self.threads[0].join(timeout=5)
        if self.threads[0].is_alive() or self.unanswered:
            self.process.kill()
        for thread in self.threads:
            thread.join()
        process, self.process = self.process, None
        threading.Thread(target=_reap, args=(process,), daemon=True).start()
        log.info("sync: %d of %d batches were sent to the worker", self.sent_batches, self.batches)


def _reap(process):
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve():
    """The worker's loop: the settings, then batches until its input ends."""
    receiver = Connection(os.dup(sys.stdin.fileno()), writable=False)
    sender = Connection(os.dup(sys.stdout.fileno()), readable=False)
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    from hub import create_app

    create_app(receiver.recv()).app_context().push()
    sender.send("ready")
    while True:
        try:
            batch, country_code, stored = receiver.recv()
        except EOFError:
            return
        try:
            answer = (True, prepare(batch, country_code, stored))
        except Exception as exc:  # the run fails on it, as it would without a worker
            answer = (False, exc)
        try:
            sender.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):
            sender.send((False, RuntimeError(repr(answer[1]))))
