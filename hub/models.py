"""Every model of the hub, imported in one place for Alembic and the tests."""

from hub.accounts.models import AuditEvent, Invitation, User
from hub.registry.models import Country, MembershipEvent, Programme

__all__ = ["AuditEvent", "Country", "Invitation", "MembershipEvent", "Programme", "User"]
