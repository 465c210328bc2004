"""``hub mail send`` (one delivery run now) and ``hub mail test --to ADDRESS``."""

from datetime import timedelta

import click
from flask import url_for
from flask_babel import gettext as _

from hub.cli import hub_cli
from hub.extensions import db
from hub.i18n import current_language, languages
from hub.outbox import delivery, mail, transport
from hub.outbox.models import MailMessage


@hub_cli.group("mail")
def mail_cli():
    """The mail outbox (docs/mail.md)."""


@mail_cli.command("send")
@click.option(
    "--seconds", default=int(delivery.RUN_DEADLINE.total_seconds()), show_default=True,
    type=click.IntRange(1, 3600), help="No message is started after this.",
)  # fmt: skip
def send_command(seconds):
    """Send the messages due now (the scheduler does this every few seconds)."""
    totals = delivery.deliver(deadline=timedelta(seconds=seconds))
    click.echo(
        _(
            "Sent: %(sent)s. Waiting for another attempt: %(waiting)s. Failed: %(failed)s.",
            **totals,
        )
    )


@mail_cli.command("test")
@click.option("--to", "recipient", required=True, help="The address to send it to.")
@click.option("--language", default=None, metavar="vi|en|ja", help="By default the operator's.")
def test_command(recipient, language):
    """Put a test message in the outbox and send it now: checks HUB_MAIL_URL."""
    language = language or current_language()
    if language not in languages():
        raise click.ClickException(_("“%(value)s” is not a language of the hub.", value=language))
    db.begin_write()
    try:
        message = mail.queue(
            "test", recipient, language, "mail/test.html",
            home_url=url_for("registry.home", lang=language, _external=True),
        )  # fmt: skip
    except mail.MailError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    message_id = message.id
    delivery.deliver()
    sent = db.session.get(MailMessage, message_id)
    where, place = transport.describe()
    if sent.status == "sent" and where == "folder":
        click.echo(
            _(
                "No mail relay is set (HUB_MAIL_URL): the message was written to %(place)s.",
                place=place,
            )
        )
    elif sent.status == "sent":
        click.echo(
            _(
                "The relay %(place)s took the message for %(address)s.",
                place=place,
                address=sent.recipient,
            )
        )
    else:
        reason = sent.last_error or ""
        raise click.ClickException(
            _("The message was not sent: %(reason)s", reason=reason)
            if where == "folder"
            else _(
                "The relay %(place)s did not take the message: %(reason)s",
                place=place,
                reason=reason,
            )
        )
