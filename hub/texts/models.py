"""The texts of registry facts in every language, one row per fact and language."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from hub import cache
from hub.db import Base, UTCDateTime, utcnow


class FactText(Base):
    """A fact's texts in one language: ``fields`` maps each field ("name", "note", "title"…)
    to its text. ``subject`` says what the fact is about ("country", "programme", "source",
    "membership_event", "network") and ``subject_key`` which one (a country code, an id).

    The row in the fact's source language has ``source_fingerprint`` NULL; a translation keeps
    the fingerprint of the source text it was made from (see ``hub.texts.core``). The primary
    key, subject first, is the index a page's one query reads all its facts' texts by.
    """

    __tablename__ = "fact_text"

    subject: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    def __repr__(self):
        return f"<FactText {self.subject} {self.subject_key} {self.language}>"


@cache.version_part
def _data_version():
    # A fact's translation shows on the pages as soon as it is saved.
    return [
        select(func.max(FactText.updated_dt)).scalar_subquery(),
        select(func.count()).select_from(FactText).scalar_subquery(),
    ]
