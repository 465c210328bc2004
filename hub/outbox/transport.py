"""Where mail goes: the relay of ``HUB_MAIL_URL`` (the standard library's SMTP client: plain,
STARTTLS or TLS from the start, the relay's certificate checked against the system's CA
certificates or ``HUB_MAIL_CA_FILE``), else the outbox folder, ``<instance>/outbox/``, where
each message is written as an ``.eml`` file (the embedded default: nothing leaves the machine,
and an operator can open the files with any mail program).

A transport is opened for a delivery run and sends its messages over one connection.
"""

import os
import smtplib
import ssl
import tempfile

from flask import current_app

SMTP_TIMEOUT = 30  # seconds for the relay's every answer


class SendError(Exception):
    """The relay did not take a message. ``permanent``: it refused it for good (a 5xx reply),
    and trying again would not help."""

    def __init__(self, reason, permanent=False):
        super().__init__(reason)
        self.permanent = permanent


def outbox_folder(app=None):
    return os.path.join((app or current_app).instance_path, "outbox")


def describe(app=None):
    """``("relay", "host:port")`` or ``("folder", path)``: where mail goes, for the pages."""
    config = (app or current_app).config
    if settings := config.get("MAIL_URL"):
        return "relay", f"{settings['host']}:{settings['port']}"
    return "folder", outbox_folder(app)


def open_transport(app=None):
    app = app or current_app
    if settings := app.config.get("MAIL_URL"):
        return Relay(settings, app.config.get("MAIL_CA_FILE"))
    return Folder(outbox_folder(app))


def _reason(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _permanent(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


class Relay:
    """An SMTP relay, connected at the first message and kept for the run."""

    def __init__(self, settings, ca_file=None):
        self.settings = settings
        self.ca_file = ca_file
        self.client = None

    def _connect(self):
        settings = self.settings
        context = ssl.create_default_context(cafile=self.ca_file)
        if settings["scheme"] == "smtps":
            client = smtplib.SMTP_SSL(
                settings["host"], settings["port"], timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(settings["host"], settings["port"], timeout=SMTP_TIMEOUT)
        try:
            client.ehlo()
            if settings["starttls"]:
                client.starttls(context=context)
                client.ehlo()
            if settings["username"]:
                client.login(settings["username"], settings["password"] or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, mail, recipient):
        """Hand ``mail`` over for ``recipient`` alone (the envelope is never read from the
        headers); raises ``SendError``."""
        try:
            if self.client is None:
                self.client = self._connect()
            self.client.send_message(mail, to_addrs=[recipient])
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            self.close()
            raise SendError(_reason(exc)[:1000], _permanent(exc)) from None

    def close(self):
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


class Folder:
    """The outbox folder: one ``<message id>.eml`` file per message, written whole or not at
    all (a temporary file renamed), the same file again if it is sent again."""

    def __init__(self, path):
        self.path = path

    def send(self, mail, recipient):
        name = mail["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path, suffix=".part")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(mail.as_bytes())
                os.replace(temporary, os.path.join(self.path, name))
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            raise SendError(_reason(exc)[:1000]) from None

    def close(self):
        pass
