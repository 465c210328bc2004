"""Cross-process cache invalidation through Redis (``HUB_REDIS_URL``).

Every process keeps its own cache of public answers (``hub.cache``), valid while the *data
version* it read last is the database's. Without Redis a process trusts that version for
``HUB_ANSWER_CACHE_FRESH_MS`` (a second), so another process's write shows within that time.
With Redis, each process that commits a write publishes one short message on a channel of its
database, and every process listening forgets its version at once: a write in one web server,
another machine's or the scheduler's, is seen by the others within milliseconds, and between
writes no process reads the version again for ``BUS_FRESH_SECONDS``.

When Redis cannot be reached (at start, or later), a process falls back to the timer and says
so in its log; the listener reconnects by itself (at most every ``RECONNECT_SECONDS``), and the
cached answers are forgotten when it does, since messages may have been missed meanwhile.
Publishing never fails the write it follows.
"""

import hashlib
import logging
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# With the listener connected, how long a process trusts the version it read: a safety net for
# a message lost in transit, not the way writes are seen.
BUS_FRESH_SECONDS = 60.0
RECONNECT_SECONDS = 5.0
_WROTE = "hub.wrote"


def channel_name(database_url):
    """One channel per database (its URL without the password): hubs that share a Redis
    server but not a database never invalidate each other."""
    url = make_url(database_url)
    url = (
        url.render_as_string(hide_password=True).replace(":***@", "@") if url.password else str(url)
    )
    return "hub:changed:" + hashlib.sha256(url.encode()).hexdigest()[:16]


class Bus:
    """The publisher and the listener of one app; ``cache`` is its ``AnswerCache``."""

    def __init__(self, redis_url, database_url, cache, timer_seconds):
        import redis

        self.channel = channel_name(database_url)
        self.cache = cache
        self.timer_seconds = timer_seconds
        self.client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
        self.connected = threading.Event()
        self._warned = False
        self._stopped = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._listen, name="hub-invalidation", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopped.set()
        self.client.close()

    def publish(self):
        try:
            self.client.publish(self.channel, b"1")
        except Exception as exc:  # never the write's concern: the others' timers still run
            log.warning("cache invalidation not published (%s): %s", self.channel, exc)

    def _listen(self):
        while not self._stopped.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self._connected()
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.cache.forget_version()
            except Exception as exc:
                if self._stopped.is_set():
                    return
                self._disconnected(exc)
                self._stopped.wait(RECONNECT_SECONDS)
            finally:
                pubsub.close()

    def _connected(self):
        # Messages may have been missed while not listening: forget what was cached.
        self.cache.clear()
        self.cache.fresh_seconds = BUS_FRESH_SECONDS
        self.connected.set()
        log.info("cache invalidation listening on %s", self.channel)

    def _disconnected(self, exc):
        was = self.connected.is_set()
        self.connected.clear()
        self.cache.fresh_seconds = self.timer_seconds
        self.cache.forget_version()
        if was or not self._warned:
            self._warned = True
            log.warning("cache invalidation lost (%s), the timer stands in: %s", self.channel, exc)


def init_app(app, cache):
    """Start the bus of ``app`` when ``HUB_REDIS_URL`` is set and the cache is on."""
    redis_url = app.config.get("REDIS_URL")
    if not redis_url or cache is None:
        return None
    bus = Bus(redis_url, app.config["DATABASE_URL"], cache, cache.fresh_seconds)
    app.extensions["hub.invalidation"] = bus
    global _any_bus
    _any_bus = True
    bus.start()
    return bus


_any_bus = False  # whether any app of this process has a bus: commits look no further if not


# Whether a session's transaction wrote anything: set by a flush or a DML statement executed
# through it, published after its commit (never before: another process reading the version
# at once must see the write).
@event.listens_for(Session, "after_flush")
def _flushed(session, _context):
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state):
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop(_WROTE, None)


@event.listens_for(Session, "after_commit")
def _committed(session):
    if session.info.pop(_WROTE, None) and _any_bus:
        from flask import current_app

        bus = current_app.extensions.get("hub.invalidation") if current_app else None
        if bus is not None:
            bus.publish()


def wait_connected(app, seconds=5.0):
    """Until ``app``'s listener is connected (tests, start-up checks); True if it is."""
    bus = app.extensions.get("hub.invalidation")
    deadline = time.monotonic() + seconds
    return bus is not None and bus.connected.wait(max(0.0, deadline - time.monotonic()))
