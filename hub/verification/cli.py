"""``hub keys list`` and ``hub keys rotate``: the keys the hub signs rating attestations with."""

import click
from flask_babel import gettext as _

from hub.cli import HubGroup, hub_cli
from hub.verification import keys

keys_cli = HubGroup("keys", help="The keys that sign rating attestations.")
hub_cli.add_command(keys_cli)


@keys_cli.command("list", needs_schema=False)
def list_command():
    """List the signing keys: the current one, which signs, and the earlier ones, published
    for verifying what they signed."""
    ring = keys.key_ring()
    for key in ring.keys:
        if key.kid == ring.current_kid:
            click.echo(_("%(kid)s (made %(created)s): signs", kid=key.kid, created=key.created))
        else:
            click.echo(
                _("%(kid)s (made %(created)s): verifies only", kid=key.kid, created=key.created)
            )


@keys_cli.command("rotate", needs_schema=False)
def rotate_command():
    """Make a new signing key, the one that signs from now on. The earlier keys lose their
    private half and stay published at /.well-known/hub-keys.json, so that the attestations
    they signed still verify."""
    key = keys.rotate()
    click.echo(_("New signing key: %(kid)s. Earlier keys now only verify.", kid=key.kid))
