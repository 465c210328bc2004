"""Mail people ask for (docs/mail.md, "Notifications"): each person chooses, per topic, how
often they hear of it, on ``/<lang>/account``; a topic they never chose has its default for
their role (``TOPICS``).

``notify`` queues one message per person who wants a topic at once, in the caller's
transaction (the enquiry or the sync run that caused it), each in the person's language, with
a one-click link that turns the topic off (``List-Unsubscribe``, RFC 8058: a signed token, no
sign-in). Who hears of a country's matters: its coordinators, and the administrators.
"""

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select

from hub.accounts.models import NotificationChoice, Role, User
from hub.extensions import db
from hub.i18n import languages
from hub.outbox import mail

INSTANT, OFF = "instant", "off"
FREQUENCY_LABELS = {INSTANT: _l("At once"), OFF: _l("Never")}


class Topic:
    def __init__(self, label, frequencies, coordinator, admin):
        self.label = label
        self.frequencies = frequencies
        self.defaults = {Role.COORDINATOR: coordinator, Role.ADMIN: admin}


TOPICS = {
    "enquiries": Topic(_l("A buyer's trade enquiry about a product"), (INSTANT, OFF), INSTANT, OFF),
    "sources": Topic(
        _l("A partner source is failing, paused, or held for review"), (INSTANT, OFF), INSTANT,
        INSTANT,
    ),
}  # fmt: skip


def choices(user):
    """``{topic: frequency}`` of ``user``: what they chose, else the defaults."""
    chosen = dict(
        db.session.execute(
            select(NotificationChoice.topic, NotificationChoice.frequency).where(
                NotificationChoice.user_id == user.id
            )
        ).all()
    )
    return {topic: chosen.get(topic, spec.defaults[user.role]) for topic, spec in TOPICS.items()}


def choose(user, topic, frequency):
    """Set ``user``'s choice for ``topic``, in the caller's transaction; False if either is
    not one the hub has."""
    spec = TOPICS.get(topic)
    if spec is None or frequency not in spec.frequencies:
        return False
    row = db.session.get(NotificationChoice, (user.id, topic))
    if row is None:
        db.session.add(NotificationChoice(user_id=user.id, topic=topic, frequency=frequency))
    else:
        row.frequency = frequency
    return True


def recipients(topic, country_code):
    """The active people who want ``topic`` at once about ``country_code``: its coordinators
    and the administrators, by their choice or their role's default."""
    rows = db.session.execute(
        select(User, NotificationChoice.frequency)
        .outerjoin(
            NotificationChoice,
            (NotificationChoice.user_id == User.id) & (NotificationChoice.topic == topic),
        )
        .where(
            User.active.is_(True),
            or_(User.role == Role.ADMIN, User.country_code == country_code),
        )
        .order_by(User.id)
    ).all()
    spec = TOPICS[topic]
    return [user for user, chosen in rows if (chosen or spec.defaults[user.role]) == INSTANT]


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="notification-off")


def off_token(user, topic):
    return _serializer().dumps([user.id, topic])


def read_off_token(token):
    """``(user, topic)`` of a link that turns a topic off, or None."""
    try:
        user_id, topic = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return (user, topic) if user is not None and topic in TOPICS else None


def _language(user):
    if user.preferred_language in languages():
        return user.preferred_language
    return current_app.config["DEFAULT_LANGUAGE"]


def notify(topic, country_code, template, link, **context):
    """Queue ``template`` for each person who wants ``topic`` at once about ``country_code``,
    in the caller's transaction; returns how many. ``link``: ``(endpoint, values)`` of the
    page it is about, made in each person's language (the template's ``link``)."""
    people = recipients(topic, country_code)
    endpoint, values = link
    for user in people:
        language = _language(user)
        context["link"] = url_for(endpoint, lang=language, _external=True, **values)
        off = url_for(
            "accounts.notifications_off", lang=language, token=off_token(user, topic),
            _external=True,
        )  # fmt: skip
        mail.queue(
            topic, user.email, language, template, unsubscribe_url=off,
            account=url_for("accounts.account", lang=language, _external=True),
            off=off, topic_label=TOPICS[topic].label, **context,
        )  # fmt: skip
    return len(people)
