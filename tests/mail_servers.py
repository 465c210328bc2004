"""Real SMTP servers on loopback for the mail tests (aiosmtpd): what they received, addresses
they refuse for good, and a certificate of their own for STARTTLS and TLS from the start."""

import asyncio
import datetime
import email
import ipaddress
import logging
import socket
import ssl
import threading
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# aiosmtpd logs a deprecation of its own at every login (Session.login_data, which it sets).
logging.getLogger("mail.log").setLevel(logging.ERROR)

USER, SECRET = "hub@relay.test", "relay password: with : and @"


class Inbox:
    """The handler: keeps every message it accepts; refuses ``refused`` recipients (550)."""

    def __init__(self):
        self.received = []
        self.refused = set()
        self.delay = 0.0  # seconds before each message is accepted (a slow relay)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "message": email.message_from_bytes(envelope.content, policy=policy.default),
                    "authenticated": bool(session.authenticated),
                    "tls": server.transport.get_extra_info("sslcontext") is not None,
                }
            )
        return "250 Message accepted"

    def clear(self):
        with self.lock:
            self.received.clear()
            self.refused.clear()
            self.delay = 0.0


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == SECRET.encode()
    return AuthResult(success=ok)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def certificate(folder):
    """A self-signed certificate for 127.0.0.1 and its key, valid from 2000 to 2099; returns
    their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Valid whatever the date the tests run at (faketime included): the clock is not read.
        .not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2099, 12, 31, tzinfo=datetime.UTC))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Server:
    """One aiosmtpd server: ``mode`` "plain", "starttls" (STARTTLS required, then AUTH) or
    "smtps" (TLS from the start, then AUTH)."""

    def __init__(self, mode, cert=None):
        self.inbox = Inbox()
        self.port = free_port()
        self.cert = cert
        kwargs = {}
        if mode != "plain":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
            kwargs = {"authenticator": _authenticate, "auth_require_tls": True}
            if mode == "starttls":
                kwargs |= {"tls_context": context, "require_starttls": True}
            else:
                # TLS from the start: aiosmtpd counts only STARTTLS as TLS for AUTH.
                kwargs |= {"ssl_context": context, "auth_require_tls": False}
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )
        self.mode = mode

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def url(self, with_login=True):
        from urllib.parse import quote

        login = f"{quote(USER, safe='')}:{quote(SECRET, safe='')}@" if with_login else ""
        if self.mode == "plain":
            return f"smtp://127.0.0.1:{self.port}"
        if self.mode == "starttls":
            return f"smtp://{login}127.0.0.1:{self.port}?starttls=1"
        return f"smtps://{login}127.0.0.1:{self.port}"


def delivered(app, inbox):
    """One delivery run of the hub's outbox; what ``inbox`` received, taken out of it."""
    from hub.outbox import delivery

    with app.app_context():
        delivery.deliver()
    with inbox.lock:
        received = list(inbox.received)
        inbox.received.clear()
    return received
