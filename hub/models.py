"""Every model of the hub, imported in one place for Alembic and the tests."""

from hub.registry.models import Country, MembershipEvent, Programme

__all__ = ["Country", "MembershipEvent", "Programme"]
