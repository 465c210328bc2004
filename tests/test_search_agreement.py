"""SQLite and PostgreSQL give the same search results for the same query on the same data: a
few hundred queries in vi, en and ja (whole words, several words, parts of words, with and
without diacritics, Japanese substrings, one- and two-character queries), every page."""

import random

from sqlalchemy import select

from hub.accounts.models import User
from hub.accounts.services import create_user
from hub.extensions import db
from hub.publishing import services
from hub.search import index, queries
from tests.support import PASSWORD, seeded_app

WORDS = {
    "vi": ["chè", "trà", "mật", "ong", "bánh", "gạo", "lụa", "tơ", "tằm", "gốm", "sứ", "nước", "mắm", "cà", "phê", "hạt", "điều", "làng", "nghề", "truyền", "thống", "thủ", "công", "Hà", "Giang", "Bát", "Tràng", "Thái", "Nguyên", "đặc", "sản", "hữu", "cơ"],
    "en": ["tea", "honey", "rice", "cake", "silk", "pottery", "fish", "sauce", "coffee", "cashew", "craft", "village", "traditional", "handmade", "organic", "mountain", "flowers", "green", "black", "weaving"],
    "ja": ["お茶", "緑茶", "蜂蜜", "はちみつ", "米", "菓子", "絹", "陶器", "醤油", "珈琲",
           "伝統", "工芸", "村", "有機", "山", "花", "織物", "手作り", "一村一品"],
}  # fmt: skip
KINDS = {"product": {"product_group": "food"}, "policy": {}, "experience": {}}


def build(rng, vn):
    """Entries made from the words, the same on every database for the same ``rng``."""
    for _ in range(90):
        language = rng.choice(list(WORDS))
        words = WORDS[language]
        joiner = "" if language == "ja" else " "
        title = joiner.join(rng.sample(words, rng.randint(1, 3)))
        body = joiner.join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        kind = rng.choice(list(KINDS))
        entry = services.create_entry(
            vn, kind, language, {"title": title, "body": body}, dict(KINDS[kind])
        )
        if rng.random() < 0.9:
            services.set_status(vn, entry.id, "published")
        if rng.random() < 0.3:
            other = rng.choice([lang for lang in WORDS if lang != language])
            services.save_text(
                vn, entry.id, other, {"title": " ".join(rng.sample(WORDS[other], 2))}
            )
        if rng.random() < 0.05:
            services.delete_entry(vn, entry.id)


def queries_to_ask(rng):
    asked = []
    for words in WORDS.values():
        asked += words
        asked += [" ".join(rng.sample(words, 2)) for _ in range(20)]
        for word in rng.sample(words, 10):
            start = rng.randrange(len(word))
            asked.append(word[start : start + rng.randint(1, 4)])
    asked += ["TRA", "tra", "trà", "Trà", "ca phe", "CÀ PHÊ", "viet nam", "japan", "otop"]
    asked += ["x", "zz", "%", "_", "\\", "'", '"', "tra\x00 che"]
    return list(dict.fromkeys(asked))


def results(app, asked):
    """Each query's pages: the entries' ids, the countries and programmes, in order."""
    answers = {}
    with app.test_request_context("/en/"):
        for query in asked:
            pages, cursor = [], None
            for _page in range(5):
                found = queries.search(query, cursor=cursor, limit=7)
                pages.append(
                    (
                        [e.id for e in found.entries],
                        [c.code for c in found.countries],
                        [p.acronym for p in found.programmes],
                        found.registry_first,
                        found.short,
                    )
                )
                cursor = found.next_cursor
                if cursor is None:
                    break
            answers[query] = pages
    return answers


def test_sqlite_and_postgresql_agree(tmp_path, monkeypatch):
    answers = {}
    asked = queries_to_ask(random.Random(21))
    assert len(asked) > 150
    for backend in ("sqlite", "postgresql"):
        with seeded_app(backend, tmp_path) as app, app.test_request_context("/"):
            create_user("coordinator.vn@hub.test", PASSWORD, "coordinator", "VN")
            vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
            build(random.Random(5), vn)
            answers[backend] = results(app, asked)
            if backend == "postgresql":
                # Its other ways to the same rows: windows of a few entries (read one after
                # the other until a page is full), and ``LIKE`` through the trigram indexes
                # for a word found in more than one word of the vocabulary.
                with monkeypatch.context() as patched:
                    patched.setattr(index, "FIRST_WINDOW", 3)
                    answers["windows"] = results(app, asked)
                with monkeypatch.context() as patched:
                    patched.setattr(index, "VOCABULARY_CAP", 1)
                    answers["like"] = results(app, asked)
    found = sum(1 for pages in answers["sqlite"].values() if pages[0][0])
    assert found > 100, "too few queries find anything to compare"
    for query in asked:
        for other in ("postgresql", "windows", "like"):
            assert answers["sqlite"][query] == answers[other][query], (other, query)
