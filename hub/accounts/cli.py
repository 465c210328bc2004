"""Account commands: ``create-user``."""

import click
from flask_babel import gettext as _

from hub.accounts import services
from hub.accounts.models import ROLE_VALUES
from hub.cli import hub_cli
from hub.extensions import db


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
def invite_command(email, role, country):
    """Create a one-time invitation link (valid 7 days) and print it; no e-mail is sent."""
    from flask import current_app, url_for

    try:
        token = services.invite(None, email, role, country)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    lang = current_app.config["DEFAULT_LANGUAGE"]
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        link = url_for("accounts.accept_invitation", lang=lang, token=token, _external=True)
    click.echo(_("Invitation created for %(email)s.", email=services.normalize_email(email)))
    click.echo(link)
