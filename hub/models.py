"""Every model of the hub, imported in one place for Alembic and the tests."""

from hub.accounts.models import (
    AccountToken,
    ApiToken,
    AuditEvent,
    Invitation,
    NotificationChoice,
    User,
)
from hub.digests.models import Subscription
from hub.enquiries.models import Enquiry
from hub.history.models import Revision
from hub.media.models import Media
from hub.ops.models import HubState
from hub.outbox.models import MailMessage
from hub.publishing.models import (
    ChangeCounter,
    Entry,
    EntryTranslation,
    Experience,
    Fair,
    Policy,
    Product,
)
from hub.registry.models import Country, MembershipEvent, Programme
from hub.sessions import UserSession
from hub.signin_limits import SignInFailure
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from hub.texts.models import FactText
from hub.texts.snapshots import TextSnapshot
from hub.webhooks.models import Webhook, WebhookDelivery

__all__ = [
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "ChangeCounter",
    "Country",
    "Enquiry",
    "Entry",
    "EntryTranslation",
    "Experience",
    "FactText",
    "Fair",
    "HubState",
    "Invitation",
    "MailMessage",
    "Media",
    "MembershipEvent",
    "NotificationChoice",
    "PartnerSource",
    "Policy",
    "Product",
    "Programme",
    "RejectedRecord",
    "Revision",
    "SignInFailure",
    "Subscription",
    "SyncRun",
    "TextSnapshot",
    "User",
    "UserSession",
    "Webhook",
    "WebhookDelivery",
]
