"""Mail: each message made in its recipient's language from one template, as text and as HTML
(``compose``), written to the outbox in the caller's transaction (``queue``), and built as an
RFC 5322 message when it is sent (``build``).

A template under ``templates/mail/`` extends ``mail/_layout.html`` and fills its blocks
``subject``, ``body`` and ``why`` (why the recipient gets it) with the macros of
``mail/_parts.html``; it is rendered once with HTML escaping for the HTML part and once
without for the text part, so the two always say the same.

Addresses and subjects never reach a header as they came: an address must be one mailbox
(``hub.config.MAILBOX``: no display name, no list, no line break), and a subject is made one
line. ``email.message.EmailMessage`` would refuse a line break in a header anyway.
"""

import re
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from hub.config import MAILBOX
from hub.db import utcnow
from hub.extensions import db
from hub.i18n import languages
from hub.outbox.models import MailMessage, MailStatus
from hub.urls import base_host

SUBJECT_LENGTH = 200  # characters kept of a subject (a title in it may be long)
# Lines up to RFC 5322's limit: folded at 78, a Vietnamese subject's encoded words lost the
# space between them when read back ("của bạntrên"), in Python's parser as in mail programs.
POLICY = policy.SMTP.clone(max_line_length=998)


class MailError(ValueError):
    """A message that cannot be written (an address that is not one mailbox); the text is in
    the current language."""


def check_address(address):
    """``address`` as one mailbox (surrounding spaces removed); raises ``MailError`` for
    anything else: a list, a display name, a line break, no domain."""
    value = (address or "").strip() if isinstance(address, str) else ""
    if not MAILBOX.match(value) or len(value) > 254:
        raise MailError(_("“%(value)s” is not an e-mail address.", value=str(address)[:100]))
    return value


def one_line(text):
    """``text`` on one line: every run of white space (line breaks too) made one space."""
    return " ".join(str(text).split())


def _text_environment(app):
    environment = app.extensions.get("hub.mail_text")
    if environment is None:
        environment = app.jinja_env.overlay(autoescape=False)
        app.extensions["hub.mail_text"] = environment
    return environment


def compose(template, language, **context):
    """``(subject, text, html)`` of ``templates/<template>`` in ``language``."""
    app = current_app._get_current_object()
    with force_locale(language):
        subject = one_line(render_template(template, part="subject", lang=language, **context))
        html = render_template(template, part="html", lang=language, **context)
        values = {"part": "text", "lang": language, **context}
        app.update_template_context(values)
        text = _text_environment(app).get_template(template).render(values)
    text = re.sub(r"\n{3,}", "\n\n", text.strip()) + "\n"  # the template's blank lines
    return subject[:SUBJECT_LENGTH], text, html


def message_domain():
    """The domain of the hub's Message-IDs: the base URL's host."""
    return base_host() or "localhost"


def queue(kind, recipient, language, template, unsubscribe_url=None, **context):
    """Write a message to ``recipient`` in ``language`` to the outbox, in the session's
    transaction: it is sent after that transaction commits, and never if it rolls back.
    Returns the ``MailMessage``; raises ``MailError`` for an address that is not one mailbox."""
    recipient = check_address(recipient)
    if language not in languages():
        language = current_app.config["DEFAULT_LANGUAGE"]
    subject, text, html = compose(template, language, **context)
    now = utcnow()
    message = MailMessage(
        kind=kind,
        recipient=recipient,
        language=language,
        subject=subject,
        text_body=text,
        html_body=html,
        message_id=make_msgid(domain=message_domain()).strip("<>"),
        unsubscribe_url=unsubscribe_url,
        status=MailStatus.PENDING,
        attempts=0,
        created_dt=now,
        give_up_dt=now + give_up_after(),
    )
    db.session.add(message)
    return message


def give_up_after():
    """How long a message is tried before it is marked failed (``HUB_MAIL_GIVE_UP_HOURS``)."""
    return timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])


def sender():
    """The From address: ``HUB_MAIL_FROM``, else no-reply@ the hub's host."""
    if configured := current_app.config.get("MAIL_FROM"):
        return configured
    host = message_domain()
    return f"no-reply@{host}" if MAILBOX.match(f"no-reply@{host}") else "no-reply@localhost"


def build(message, site_name):
    """The RFC 5322 message of an outbox row (``site_name``: the From's display name, in the
    message's language)."""
    mail = EmailMessage(policy=POLICY)
    mail["From"] = formataddr((one_line(site_name), sender()))
    mail["To"] = check_address(message.recipient)
    mail["Subject"] = one_line(message.subject)
    mail["Date"] = format_datetime(message.created_dt)
    mail["Message-ID"] = f"<{message.message_id}>"
    mail["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.text_body)
    mail.add_alternative(message.html_body, subtype="html")
    mail["Content-Language"] = message.language  # after the parts: set_content drops it
    return mail
