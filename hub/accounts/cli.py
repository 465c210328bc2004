"""Account commands: ``create-user``, ``invite``, ``invitations``, ``revoke-invitation``."""

import click
from flask import url_for
from flask_babel import gettext as _

from hub.accounts import services
from hub.accounts.models import ROLE_VALUES
from hub.cli import hub_cli
from hub.extensions import db
from hub.outbox import transport


@hub_cli.command("create-user")
@click.option("--email", required=True)
@click.option(
    "--password", required=True, help=f"At least {services.MIN_PASSWORD_LENGTH} characters."
)
@click.option("--role", required=True, type=click.Choice(ROLE_VALUES))
@click.option("--country", default=None, metavar="XX", help="The country of a coordinator.")
def create_user_command(email, password, role, country):
    """Create an administrator or a country's coordinator."""
    try:
        user = services.create_user(email, password, role, country)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(_("Account created: %(email)s (%(role)s).", email=user.email, role=user.role))


@hub_cli.command("invite")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLE_VALUES))
@click.option("--country", default=None, metavar="XX", help="The country of a coordinator.")
@click.option(
    "--language",
    default=None,
    metavar="vi|en|ja",
    help="The language the link opens in; by default the operator's (LANG), else the hub's.",
)
def invite_command(email, role, country, language):
    """Create a one-time invitation link, mail it (through the outbox: docs/mail.md) and print
    it. It works for HUB_INVITATION_DAYS days (7 unless set); inviting an address again ends
    its earlier link."""
    try:
        new = services.create_invitation(None, email, role, country, language)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    invitation = new.invitation
    # Under HUB_BASE_URL (hub.urls), like every link the hub writes outside a request.
    link = url_for(
        "accounts.accept_invitation", lang=invitation.language, token=new.token, _external=True
    )
    click.echo(_("Invitation created for %(email)s.", email=invitation.email))
    click.echo(link)
    click.echo(
        _(
            "The link works once, until %(date)s.",
            date=invitation.expires_dt.isoformat("T", "minutes"),
        )
    )
    where, place = transport.describe()
    if where == "relay":
        click.echo(_("An e-mail with the link will be sent through %(place)s.", place=place))
    else:
        click.echo(
            _(
                "No mail relay is set (HUB_MAIL_URL): the e-mail will be written to %(place)s. "
                "Send the link yourself.",
                place=place,
            )
        )
    if new.replaced:
        click.echo(_("The earlier link for %(email)s no longer works.", email=invitation.email))


@hub_cli.command("invitations")
def invitations_command():
    """List the pending invitations, one a line: number, address, role, country, language,
    who invited, when the link expires (UTC)."""
    rows = [
        (
            str(invitation.id),
            invitation.email,
            invitation.role,
            invitation.country_code or "-",
            invitation.language,
            invitation.created_by.email if invitation.created_by else _("command line"),
            invitation.expires_dt.isoformat("T", "minutes"),
        )
        for invitation in services.pending_invitations(None)
    ]
    if not rows:
        click.echo(_("No invitation is pending."))
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))


@hub_cli.command("revoke-invitation")
@click.argument("invitation", metavar="ID_OR_EMAIL")
def revoke_invitation_command(invitation):
    """End a pending invitation's link: give its number (see ``hub invitations``) or the
    address it was sent to."""
    try:
        revoked = services.revoke_invitation(None, invitation)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(
        _("The invitation for %(email)s is revoked: its link no longer works.", email=revoked.email)
    )
