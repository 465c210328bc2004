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
