"""The benchmark's entries, generated one by one from a fixed seed: the plan that decides up
front which country, language, status and dates each entry has, and the rows of each kind
(products, policies, experiences, fairs) with their texts in Vietnamese, English and Japanese,
as the services would store them. ``bench.dataset`` writes them in batches and caches the result.
"""

import hashlib
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.core import get_global

from bench import texts as T

PARAMS = {
    "seed": 20261122,
    "counts": {"product": 100_000, "policy": 3_000, "experience": 2_000, "fair": 2_000},
    "translated_share": 0.8,  # each non-source language is there for 80 % of entries
    "outdated_share": 0.05,  # of those, 5 % were made from an older source text
    "layout": 3,  # bump when the generator changes in a way the sources do not show
}
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)

# Share of the entries by country (the rest of the 43 get weight 1 each).
COUNTRY_WEIGHTS = {
    "VN": 22, "TH": 16, "JP": 12, "ID": 6, "PH": 5, "CN": 5, "IN": 5, "KH": 4, "LA": 4,
    "MY": 4, "KR": 3, "TW": 3, "BD": 2, "LK": 2, "NP": 2, "KE": 2,
}  # fmt: skip
GROUP_WEIGHTS = {
    "food": 35, "beverages": 20, "herbal": 12, "textiles": 10, "souvenirs": 15, "tourism": 8,
}  # fmt: skip
INSTRUMENT_NAMES = {
    "law": ("Luật", "Law", "法律"),
    "decree": ("Nghị định", "Decree", "政令"),
    "decision": ("Quyết định", "Decision", "決定"),
    "circular": ("Thông tư", "Circular", "通達"),
    "programme": ("Chương trình", "National programme", "国家プログラム"),
    "plan": ("Kế hoạch", "Plan", "計画"),
    "guideline": ("Hướng dẫn", "Guideline", "指針"),
    "standard": ("Tiêu chuẩn", "Standard", "基準"),
    "other": ("Văn bản", "Instrument", "文書"),
}


# ---------------------------------------------------------------------------------------------
# The plan: who is what, decided up front so that every entry can be generated on its own.


class Plan:
    def __init__(self, countries, programmes):
        seed = PARAMS["seed"]
        rng = random.Random(seed)
        counts = PARAMS["counts"]
        kinds = [k for k, n in counts.items() for _ in range(n)]
        rng.shuffle(kinds)
        self.n = len(kinds)
        self.kinds = kinds
        weights = [COUNTRY_WEIGHTS.get(c, 1) for c in countries]
        self.countries = rng.choices(countries, weights=weights, k=self.n)
        span = (END - START).total_seconds()
        self.created, self.updated, self.status, self.deleted = [], [], [], []
        for i in range(self.n):
            created = START + timedelta(seconds=span * i / self.n + rng.random() * 60)
            if rng.random() < 0.15:
                updated = min(created + timedelta(days=rng.uniform(1, 400)), END)
            else:
                updated = created + timedelta(minutes=rng.uniform(1, 30))
            roll = rng.random()
            status = "published" if roll < 0.96 else "draft" if roll < 0.985 else "archived"
            self.created.append(created)
            self.updated.append(updated)
            self.status.append(status)
            self.deleted.append(status == "published" and rng.random() < 0.005)
        # Change sequence numbers follow the last change of each entry.
        order = sorted(range(self.n), key=lambda i: (self.updated[i], i))
        self.change_seq = [0] * self.n
        for seq, i in enumerate(order, start=1):
            self.change_seq[i] = seq
        self.names = T.country_names(countries)
        self.places = {c: T.places_for(c, self.names) for c in countries}
        self.programmes = programmes  # {country: [programme ids]}
        zones = get_global("territory_zones")
        self.zones = {c: sorted(zones.get(c, ["UTC"]))[0] for c in countries}
        self.policies_by_country = {}
        for i, kind in enumerate(kinds):
            if kind == "policy":
                self.policies_by_country.setdefault(self.countries[i], []).append(i + 1)


def _source_language(country):
    return {"VN": "vi", "JP": "ja"}.get(country, "en")


def _cap(value):
    return value[:1].upper() + value[1:]


def _sentences(rng, pool, count, values, extra=None):
    """``count`` sentences from ``pool`` in the three languages: ``{lang: [sentences]}``."""
    picked = []
    while len(picked) < count:  # no sentence twice before every one has been used
        picked.extend(rng.sample(pool, min(len(pool), count - len(picked))))
    if extra is not None:
        picked.insert(rng.randrange(len(picked) + 1), extra)
    out = {}
    for index, lang in enumerate(T.LANGS):
        out[lang] = [s[index].format(**values[lang]) for s in picked]
    return out


def _paragraphs(rng, sentences, lang):
    glue = "" if lang == "ja" else " "
    result, current = [], []
    for sentence in sentences:
        current.append(sentence)
        if len(current) >= 3 and rng.random() < 0.4:
            result.append(glue.join(current))
            current = []
    if current:
        result.append(glue.join(current))
    return "\n\n".join(result)


def _date_between(rng, first, last):
    return first + timedelta(days=rng.randrange((last - first).days + 1))


# ---------------------------------------------------------------------------------------------
# One entry of each kind: (kind-specific columns, {lang: text}).


def _product(plan, i, rng):
    from hub.publishing.services import add_months

    country = plan.countries[i]
    group = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))[0]
    noun = rng.choice(T.PRODUCTS[group])
    qual = rng.choice(T.QUALIFIERS)
    place = rng.choice(plan.places[country])
    producer_type = rng.choice(list(T.PRODUCER_KINDS))
    rated = rng.random() < 0.8
    stars = rng.choices([1, 2, 3, 4, 5], weights=[3, 10, 40, 35, 12])[0] if rated else None
    rated_on = _date_between(rng, date(2021, 1, 1), date(2026, 5, 31)) if rated else None
    scheme = None
    valid_until = None
    if rated:
        scheme = {"VN": "ocop", "TH": "otop"}.get(country, "other")
        if scheme == "ocop":
            valid_until = add_months(rated_on, 36)
        elif rng.random() < 0.5:
            valid_until = rated_on + timedelta(days=730)
    year = rated_on.year if rated_on else 2024
    n, m = rng.randint(5, 400), rng.randint(3, 36)
    values = {
        lang: {
            "noun": noun[k],
            "Noun": _cap(noun[k]),
            "place": place[k],
            "stars": stars or 3,
            "year": year,
            "n": n,
            "m": m,
        }
        for k, lang in enumerate(T.LANGS)
    }
    extra = T.HONEY_SENTENCE if rng.random() < 1 / 6 else None
    body = _sentences(rng, T.PRODUCT_SENTENCES, rng.randint(3, 8), values, extra)
    titles = {
        "vi": _cap(f"{noun[0]} {qual[0]} {place[0]}"),
        "en": _cap(f"{qual[1]} {noun[1]} from {place[1]}"),
        "ja": f"{place[2]}産の{qual[2]}{noun[2]}",
    }
    source = _source_language(country)
    kind_names = T.PRODUCER_KINDS[producer_type]
    producer = {
        "vi": f"{kind_names[0]} {_cap(noun[0])} {place[0]}",
        "en": f"{place[1]} {noun[1]} {kind_names[1]}",
        "ja": f"{place[2]}{noun[2]}{kind_names[2]}",
    }[source]
    fields = {
        "producer_name": producer[:300],
        "producer_type": producer_type,
        "locality": place[T.LANGS.index(source)],
        "product_group": group,
        "rating_scheme": scheme,
        "stars": stars,
        "rated_on": rated_on,
        "valid_until": valid_until,
    }
    texts = {
        lang: {"title": titles[lang], "body": _paragraphs(rng, body[lang], lang)}
        for lang in T.LANGS
    }
    return fields, texts


def _policy(plan, i, rng):
    country = plan.countries[i]
    topic = rng.choice(T.POLICY_TOPICS)
    instrument = rng.choice(list(INSTRUMENT_NAMES))
    issued = _date_between(rng, date(2010, 1, 1), date(2026, 5, 31))
    number = rng.randint(10, 2999)
    ref = f"{number}/{issued.year}/{country}"
    first = issued.year
    last = first + rng.choice([2, 3, 5, 10])
    names = INSTRUMENT_NAMES[instrument]
    titles = {
        "vi": f"{names[0]} {ref} về {topic[0]} giai đoạn {first}–{last}",
        "en": f"{names[1]} {ref} on {topic[1]}, {first}–{last}",
        "ja": f"{first}〜{last}年の{topic[2]}に関する{names[2]}{ref}",
    }
    n, m = rng.randint(10, 90), rng.randint(1, 31)
    values = {lang: {"topic": topic[k], "n": n, "m": m} for k, lang in enumerate(T.LANGS)}
    summary = _sentences(rng, T.POLICY_SENTENCES, rng.randint(1, 2), values)
    body = _sentences(rng, T.POLICY_SENTENCES, rng.randint(12, 40), values)
    source = _source_language(country)
    names_here = plan.names[country]
    issuing = {
        "vi": "Bộ Nông nghiệp và Phát triển Nông thôn",
        "en": f"Ministry of Agriculture, {names_here[1]}",
        "ja": "農林水産省",
    }[source]
    fields = {
        "instrument": instrument,
        "reference_number": ref,
        "issuing_body": issuing,
        "issued_on": issued,
        "link": f"https://gov.example.org/{country.lower()}/{issued.year}/{number}",
    }
    glue = {"vi": " ", "en": " ", "ja": ""}
    texts = {
        lang: {
            "title": titles[lang],
            "summary": glue[lang].join(summary[lang]),
            "body": _paragraphs(rng, body[lang], lang),
        }
        for lang in T.LANGS
    }
    return fields, texts


def _experience(plan, i, rng):
    country = plan.countries[i]
    topic = rng.choice(T.POLICY_TOPICS)
    place = rng.choice(plan.places[country])
    titles = {
        "vi": f"Kinh nghiệm {topic[0]} tại {place[0]}",
        "en": f"{_cap(topic[1])} in {place[1]}: what worked",
        "ja": f"{place[2]}における{topic[2]}の経験",
    }
    n, m = rng.randint(10, 600), rng.randint(2, 12)
    values = {lang: {"place": place[k], "n": n, "m": m} for k, lang in enumerate(T.LANGS)}
    summary = _sentences(rng, T.EXPERIENCE_SENTENCES, rng.randint(1, 2), values)
    body = _sentences(rng, T.EXPERIENCE_SENTENCES, rng.randint(10, 35), values)
    lessons = _sentences(rng, T.LESSON_SENTENCES, rng.randint(2, 5), values)
    metrics = rng.sample(list(T.OUTCOME_UNITS), rng.randint(1, 3))
    outcomes = [
        {"metric": m, "value": rng.randint(5, 5000), "unit": T.OUTCOME_UNITS[m]} for m in metrics
    ]
    programmes = plan.programmes.get(country) or []
    fields = {
        "programme_id": rng.choice(programmes) if programmes and rng.random() < 0.7 else None,
        "outcomes": outcomes,
    }
    glue = {"vi": " ", "en": " ", "ja": ""}
    texts = {
        lang: {
            "title": titles[lang],
            "summary": glue[lang].join(summary[lang]),
            "body": _paragraphs(rng, body[lang], lang),
            "lessons": "\n\n".join(lessons[lang]),
        }
        for lang in T.LANGS
    }
    earlier = [p for p in plan.policies_by_country.get(country, []) if p < i + 1]
    links = rng.sample(earlier, min(len(earlier), rng.randint(0, 2)))
    return fields, texts, links


def _fair(plan, i, rng):
    country = plan.countries[i]
    theme = rng.choice(T.FAIR_THEMES)
    place = rng.choice(plan.places[country])
    venue = rng.choice(T.VENUES)
    first_day = _date_between(rng, date(2025, 1, 1), date(2027, 12, 31))
    last_day = first_day + timedelta(days=rng.choice([0, 0, 1, 2, 3]))
    all_day = rng.random() < 0.4
    if all_day:
        starts = datetime.combine(first_day, time(0))
        ends = datetime.combine(last_day, time(0))
    else:
        starts = datetime.combine(first_day, time(rng.choice([8, 9])))
        ends = datetime.combine(last_day, time(rng.choice([17, 18, 21])))
    zone_name = plan.zones[country]
    zone = ZoneInfo(zone_name)
    last = ends + timedelta(days=1) if all_day else ends
    year = first_day.year
    titles = {
        "vi": f"Hội chợ {theme[0]} {place[0]} {year}",
        "en": f"{place[1]} {theme[1]} Fair {year}",
        "ja": f"{year}年{place[2]}{theme[2]}フェア",
    }
    n, m = rng.randint(40, 600), rng.randint(10, 60)
    values = {lang: {"n": n, "m": m} for lang in T.LANGS}
    body = _sentences(rng, T.FAIR_SENTENCES, rng.randint(2, 5), values)
    source = _source_language(country)
    k = T.LANGS.index(source)
    deadline = first_day - timedelta(days=rng.randint(14, 60)) if rng.random() < 0.5 else None
    fields = {
        "venue": f"{venue[k]} {place[k]}",
        "city": place[k],
        "location_country": country,
        "starts_local": starts,
        "ends_local": ends,
        "all_day": all_day,
        "timezone": zone_name,
        "starts_utc": starts.replace(tzinfo=zone).astimezone(UTC),
        "ends_utc": last.replace(tzinfo=zone).astimezone(UTC),
        "fair_status": rng.choices(
            ["scheduled", "postponed", "rescheduled", "cancelled"], weights=[90, 3, 3, 4]
        )[0],
        "organiser": f"OCOP {plan.names[country][k]}",
        "website": f"https://fairs.example.org/{country.lower()}/{i + 1}",
        "product_groups": rng.sample(list(GROUP_WEIGHTS), rng.randint(1, 3)),
        "registration_deadline": deadline,
    }
    texts = {
        lang: {"title": titles[lang], "body": _paragraphs(rng, body[lang], lang)}
        for lang in T.LANGS
    }
    return fields, texts


# ---------------------------------------------------------------------------------------------
# Rows.


def entry_rows(plan, i):
    """The entry row, its translation rows and its policy links, as the services would write
    them."""
    from hub.publishing import records
    from hub.publishing.services import fingerprint, search_values

    eid = i + 1
    kind = plan.kinds[i]
    rng = random.Random(f"{PARAMS['seed']}:{eid}")
    links = []
    if kind == "product":
        fields, texts = _product(plan, i, rng)
    elif kind == "policy":
        fields, texts = _policy(plan, i, rng)
    elif kind == "experience":
        fields, texts, links = _experience(plan, i, rng)
    else:
        fields, texts = _fair(plan, i, rng)
    country = plan.countries[i]
    source = _source_language(country)
    created, updated, status = plan.created[i], plan.updated[i], plan.status[i]
    published = created + timedelta(minutes=5) if status != "draft" else None
    row = {
        "id": eid,
        "kind": kind,
        "country_code": country,
        "status": status,
        "source_language": source,
        "origin": "local",
        "source_id": None,
        "partner_id": None,
        "content_fingerprint": None,
        "created_dt": created,
        "updated_dt": updated,
        "published_dt": published,
        "deleted_dt": updated if plan.deleted[i] else None,
        "change_seq": plan.change_seq[i],
        "created_by_id": None,
        "updated_by_id": None,
        **fields,
    }
    translations = []
    source_fp = None
    share, outdated_share = PARAMS["translated_share"], PARAMS["outdated_share"]
    for lang in (source, *[lang for lang in T.LANGS if lang != source]):
        if lang != source and rng.random() >= share:
            continue
        raw = texts[lang]
        text_ = {f: raw.get(f, "") for f in ("title", "summary", "body", "lessons")}
        fp = fingerprint(text_)
        if lang == source:
            source_fp, made_from = fp, None
        elif rng.random() < outdated_share:
            made_from = hashlib.sha256(f"older:{eid}:{lang}".encode()).hexdigest()
        else:
            made_from = source_fp
        translations.append(
            {
                "entry_id": eid,
                "language": lang,
                **text_,
                "fingerprint": fp,
                "source_fingerprint": made_from,
                **search_values(text_),
                "updated_dt": updated,
                "updated_by_id": None,
            }
        )
    # The item the changes feed serves, stored as every write does (hub.publishing.records).
    stored = records.live(row["status"], row["deleted_dt"])
    row["change_json"] = records.item_of_rows(row, translations) if stored else None
    row["change_json_seq"] = row["change_seq"] if stored else None
    return row, translations, [{"experience_id": eid, "policy_id": p} for p in links]
