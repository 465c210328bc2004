"""Mail people ask for (docs/mail.md, "Notifications"): each person chooses, per topic, how
often they hear of it, on ``/<lang>/account``; a topic they never chose has its default for
their role (``TOPICS``).

``notify`` queues one message per person who wants a topic at once, in the caller's
transaction (the enquiry or the sync run that caused it), each in the person's language, with
a one-click link that turns the topic off (``List-Unsubscribe``, RFC 8058: a signed token, no
sign-in). Who hears of a country's matters: its coordinators, and the administrators.
"""

from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from hub.accounts.models import NotificationChoice, Role, User
from hub.extensions import db
from hub.i18n import languages
from hub.outbox import mail

INSTANT, DAILY, WEEKLY, OFF = "instant", "daily", "weekly", "off"
FREQUENCY_LABELS = {
    INSTANT: _l("At once"),
    DAILY: _l("Once a day"),
    WEEKLY: _l("Once a week"),
    OFF: _l("Never"),
}
PERIODS = {DAILY: timedelta(days=1), WEEKLY: timedelta(days=7)}  # a digest's


class Topic:
    def __init__(self, label, frequencies, coordinator, admin):
        self.label = label
        self.frequencies = frequencies
        self.defaults = {Role.COORDINATOR: coordinator, Role.ADMIN: admin}

    @property
    def digest(self):
        return INSTANT not in self.frequencies


TOPICS = {
    "enquiries": Topic(_l("A buyer's trade enquiry about a product"), (INSTANT, OFF), INSTANT, OFF),
    "sources": Topic(
        _l("A partner source is failing, paused, or held for review"), (INSTANT, OFF), INSTANT,
        INSTANT,
    ),
    # Digests (hub.digests): sent by the scheduler, only when they have something to say.
    "country_digest": Topic(
        _l("Ratings that expire within 60 days, refused partner records, syncs held for review"),
        (WEEKLY, OFF), WEEKLY, OFF,
    ),
    "translations": Topic(
        _l("Texts waiting for a translation, or whose translation is out of date"),
        (DAILY, WEEKLY, OFF), OFF, OFF,
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


def translation_languages(user):
    """The languages ``user`` translates into (the translations digest): chosen, else all."""
    row = db.session.get(NotificationChoice, (user.id, "translations"))
    chosen = (
        [code for code in (row.languages or "").split(",") if code in languages()] if row else []
    )
    return chosen or list(languages())


def choose_translation_languages(user, codes):
    """Set the languages ``user`` translates into (the caller's transaction); False if one is
    not a language of the hub. None of them: all."""
    if any(code not in languages() for code in codes):
        return False
    row = db.session.get(NotificationChoice, (user.id, "translations"))
    if row is None:
        row = NotificationChoice(
            user_id=user.id, topic="translations",
            frequency=TOPICS["translations"].defaults[user.role],
        )  # fmt: skip
        db.session.add(row)
    row.languages = ",".join(code for code in languages() if code in codes) or None
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


def language_of(user):
    """The language of ``user``'s mail: theirs, else the hub's default."""
    if user.preferred_language in languages():
        return user.preferred_language
    return current_app.config["DEFAULT_LANGUAGE"]


def unsubscribe_link(user, topic, language):
    return url_for(
        "accounts.notifications_off", lang=language, token=off_token(user, topic), _external=True
    )


def send(user, topic, template, **context):
    """Queue ``template`` for ``user`` about ``topic``, in their language, with the link that
    stops the topic (the caller's transaction)."""
    language = language_of(user)
    off = unsubscribe_link(user, topic, language)
    mail.queue(
        topic, user.email, language, template, unsubscribe_url=off,
        account=url_for("accounts.account", lang=language, _external=True),
        off=off, topic_label=TOPICS[topic].label, **context,
    )  # fmt: skip


def notify(topic, country_code, template, link, **context):
    """Queue ``template`` for each person who wants ``topic`` at once about ``country_code``,
    in the caller's transaction; returns how many. ``link``: ``(endpoint, values)`` of the
    page it is about, made in each person's language (the template's ``link``)."""
    people = recipients(topic, country_code)
    endpoint, values = link
    sent = 0
    for user in people:
        link = url_for(endpoint, lang=language_of(user), _external=True, **values)
        try:
            send(user, topic, template, link=link, **context)
        except mail.MailError:
            # An account's address the hub cannot write to (made before addresses were
            # checked as mailboxes) costs the enquiry or the run nothing.
            current_app.logger.warning("no %s notification for account %s", topic, user.id)
            continue
        sent += 1
    return sent


def due_digests(now):
    """``[(user, topic, frequency)]``: the active people whose digest of a topic is due (its
    period has passed since the last, or none was made yet), by choice or default."""
    digest_topics = [topic for topic, spec in TOPICS.items() if spec.digest]
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    rows = db.session.execute(
        select(
            NotificationChoice.user_id,
            NotificationChoice.topic,
            NotificationChoice.frequency,
            NotificationChoice.last_sent_dt,
        ).where(NotificationChoice.topic.in_(digest_topics))
    ).all()
    chosen = {(user_id, topic): (frequency, last) for user_id, topic, frequency, last in rows}
    due = []
    for user in users:
        for topic in digest_topics:
            frequency, last = chosen.get(
                (user.id, topic), (TOPICS[topic].defaults[user.role], None)
            )
            if frequency in PERIODS and (last is None or now - last >= PERIODS[frequency]):
                due.append((user, topic, frequency))
    return due


def claim_digest(user, topic, frequency, now):
    """Take ``user``'s digest of ``topic`` for this run (its ``last_sent_dt`` set to ``now``
    by one conditional UPDATE, the row made first if the choice was the default): True if
    this run has it; a second scheduler's run then finds it not due."""
    db.begin_write()
    if db.session.get(NotificationChoice, (user.id, topic)) is None:
        db.session.add(NotificationChoice(user_id=user.id, topic=topic, frequency=frequency))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return False
    period = PERIODS[frequency]
    result = db.session.execute(
        update(NotificationChoice)
        .where(
            NotificationChoice.user_id == user.id,
            NotificationChoice.topic == topic,
            or_(
                NotificationChoice.last_sent_dt.is_(None),
                NotificationChoice.last_sent_dt <= now - period,
            ),
        )
        .values(last_sent_dt=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    return True
