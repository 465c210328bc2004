"""Where the fetcher may connect: never an address on this machine or its private networks.

Loopback, private, link-local (169.254.169.254 among them), unique-local, unspecified, and every
other address that is not globally routable, IPv4 and IPv6 (IPv4-mapped IPv6 too) is refused.
The check is made on the address actually connected to, when connecting, so a DNS answer that
changes between check and use cannot slip through, and again on every redirect, each of which is
a new connection. ``HUB_FETCH_ALLOW`` names hosts or networks allowed all the same (tests,
intranets). DNS itself is bounded by the fetch's deadline, and every socket a fetch opens is
watched (``watch``) so that its watchdog can shut it.
"""

import ipaddress
import socket
import threading

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still not public


class FetchError(Exception):
    """The partner's document could not be fetched; the message says what and where, in
    English (for logs). ``code`` and ``params`` say it again as facts that
    ``hub.sync.messages`` puts into words in the reader's language."""

    def __init__(self, message, url=None, *, code=None, **params):
        super().__init__(f"{message} ({url})" if url else message)
        self.url = url
        self.code = code
        self.params = {**params, "url": url} if url else params


class BlockedAddress(FetchError):
    """The address is not one the hub may reach."""


class AddressGuard:
    """Decides which addresses may be connected to."""

    def __init__(self, allow=()):
        self.hosts = set()
        self.networks = []
        for item in allow:
            item = item.strip().lower()
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.hosts.add(item)

    def check(self, host, address):
        """Raise ``BlockedAddress`` unless ``address`` (the IP about to be used for ``host``)
        is globally routable or explicitly allowed."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if host.lower().rstrip(".") in self.hosts or any(ip in net for net in self.networks):
            return
        candidates = [ip]
        if ip.version == 6:
            # IPv4 addresses carried inside IPv6 ones reach the IPv4 host: check those too.
            candidates += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
            candidates += list(ip.teredo or ())
            if ip in SITE_LOCAL:
                raise _blocked(host, ip)
        for candidate in candidates:
            if (
                not candidate.is_global
                or candidate.is_loopback
                or candidate.is_private
                or candidate.is_link_local
                or candidate.is_unspecified
                or candidate.is_reserved
                or candidate.is_multicast
            ):
                raise _blocked(host, ip)


def _blocked(host, ip):
    return BlockedAddress(
        f"refusing to connect to {host} at {ip}: not a public address",
        code="blocked",
        host=host,
        ip=str(ip),
    )


class Watch(threading.local):
    """The sockets opened by the current fetch, so that its watchdog can shut them."""

    def __init__(self):
        self.sockets = None
        self.budget = None


watch = Watch()


def _resolve(host, port):
    """DNS, bounded by the fetch's deadline (a resolver that never answers cannot hold a run)."""
    result = {}

    def lookup():
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(watch.budget or 10)
    if "infos" in result:
        return result["infos"]
    error = result.get("error")
    raise FetchError(
        f"cannot resolve {host}: {error or 'no answer in time'}",
        code="unresolved",
        host=host,
        error=str(error) if error else None,
    )


def _guarded_connection(base, guard):
    class GuardedConnection(base):
        def _new_conn(self):
            last_error = None
            infos = _resolve(self._dns_host, self.port)
            for family, kind, proto, _name, sockaddr in infos:
                guard.check(self._dns_host, sockaddr[0])
                sock = socket.socket(family, kind, proto)
                # Watched from the start, so the deadline covers connecting too.
                if watch.sockets is not None:
                    watch.sockets.append(sock)
                try:
                    timeout = self.timeout if isinstance(self.timeout, int | float) else None
                    sock.settimeout(timeout)
                    for option in self.socket_options or ():
                        sock.setsockopt(*option)
                    sock.connect(sockaddr)
                    # The address actually connected to, checked once more.
                    guard.check(self._dns_host, sock.getpeername()[0])
                except BlockedAddress:
                    sock.close()
                    raise
                except OSError as exc:
                    sock.close()
                    last_error = exc
                    continue
                return sock
            raise urllib3_connection.NewConnectionError(
                self, f"cannot connect to {self._dns_host}: {last_error}"
            )

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    def __init__(self, guard, **kwargs):
        self.guard = guard
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type(
            "Pool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _guarded_connection(HTTPConnection, self.guard)},
        )
        https = type(
            "Pool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _guarded_connection(HTTPSConnection, self.guard)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}
