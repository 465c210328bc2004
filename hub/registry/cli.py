"""Registry commands: ``membership`` (``seed`` is publishing's: it adds the sample entries too)."""

import click
from flask_babel import format_date
from flask_babel import gettext as _

from hub.cli import hub_cli
from hub.registry import services
from hub.registry.models import STATUS_VALUES
from hub.registry.regions import territory_name


@hub_cli.command("membership")
@click.argument("code")
@click.option("--status", required=True, help="One of: " + ", ".join(STATUS_VALUES) + ".")
@click.option(
    "--on", "on", required=True, metavar="YYYY-MM-DD", help="The date the change took effect."
)
@click.option("--note", default="", help="Why, or where it was decided.")
def membership_command(code, status, on, note):
    """Record a change of country CODE's membership status, dated ON."""
    try:
        event = services.change_membership(code, status, on, note)
    except services.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        _(
            "%(country)s: %(status)s since %(date)s.",
            country=territory_name(event.country_code),
            status=services.status_label(event.status),
            date=format_date(event.effective_on, "long"),
        )
    )
