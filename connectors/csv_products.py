"""``csv``: a partner's product list as CSV, its columns named in the file's header.

Settings::

    {"language": "vi",                      # the language the texts are written in
     "delimiter": ",",                      # optional
     "mapping": {"partner_id": "Mã", "title": "Tên sản phẩm", "product_group": "Nhóm", ...},
     "defaults": {"rating_scheme": "ocop"}, # optional: a value for fields no column gives
     "values": {"stars": {"3 sao": "3", "4 sao": "4"}}}  # optional: the partner's values

``mapping`` is optional. Without it, the columns are found by their headers: the names the hub
gives its fields in each of its languages (``client.vocabulary["columns"]``: «Tên sản phẩm»,
"Product name", 「産品名」…) or the fields' own names (``title``), ignoring case and spaces
around; and ``language``, if not given, is the language most of the headers are written in.
With it, it says which column holds each field, and only those columns are read.

``values`` maps, for a field, the partner's way of writing a value to the hub's: a cell is
matched as it is, then ignoring case and the spaces around it. After the partner's own, the
hub's names for values in each of its languages are taken (``client.vocabulary["values"]``:
«Thực phẩm», "Food", 「食品」 for ``food``), and stars written as the hub writes them in each
language ("4 sao", "4 stars", 「4つ星」) or as a row of ★. A cell none of these names is taken
as it is (and refused with its reasons if the hub cannot take it).

Optional columns ``latitude`` and ``longitude`` (decimal degrees, a point as decimal separator)
say where the producer is; the hub takes both or neither.

A column ``image_url`` (by its headers «Ảnh», "Photos", 「写真」, "Image URL"…) gives the
product's photos and documents: one http(s) URL, or several separated by ``;`` (as the hub's
own exports separate a list in a cell) or by spaces or line breaks, the cover first. They
become the record's ``media``, each with the product's name as its alternative text, and the
hub fetches them. An empty cell in that column says the product has none (the hub then removes
the partner's media it held for it); a file without the column says nothing of media.

The file may be UTF-8 with or without a byte-order mark. Every run reads the whole list: a
product no longer listed was removed at the partner.
"""

import csv
import re

from connectors._util import LANGUAGES, check_keys, check_language, media_list
from connectors.base import Connector, ConnectorError, Record, SettingsError, register

TEXT_FIELDS = ("title", "body")
PRODUCT_FIELDS = (
    "producer_name", "producer_type", "locality", "latitude", "longitude", "product_group",
    "rating_scheme", "stars", "rated_on", "valid_until",
)  # fmt: skip
REQUIRED = ("partner_id", "title")
MEDIA_FIELD = "image_url"  # the product's photos and documents: URLs, the cover first
FIELDS = (*REQUIRED, *TEXT_FIELDS[1:], *PRODUCT_FIELDS, MEDIA_FIELD)
URLS = re.compile(r"[;\s]+")  # a cell's list of URLs: ";" as the hub's exports write lists


def fold(text):
    """A header or a cell as it is compared: case and runs of spaces ignored."""
    return " ".join(str(text).split()).casefold()


def recognise(header, vocabulary):
    """The columns of ``header`` the hub knows by name: ``({field: column}, language)``, the
    language being the one most of the recognised headers are written in (None if none is)."""
    names = {}  # folded name → (field, the languages it belongs to)
    for field in FIELDS:
        names[fold(field)] = (field, ())
    for field, by_language in (vocabulary.get("columns") or {}).items():
        for language, labels in by_language.items():
            for label in labels:
                known = names.setdefault(fold(label), (field, ()))
                if known[0] == field:
                    names[fold(label)] = (field, (*known[1], language))
    mapping, votes = {}, dict.fromkeys(LANGUAGES, 0)
    for column in header:
        field, languages = names.get(fold(column), (None, ()))
        if field is None:
            continue
        mapping[field] = column  # the last of that name, as with csv.DictReader
        if len(languages) == 1:  # "ID" says nothing of the language
            votes[languages[0]] += 1
    best = max(votes, key=votes.get)
    return mapping, best if votes[best] else None


def star_reader(vocabulary):
    """A function reading a cell of stars as the hub writes them in any of its languages
    ("4 sao", 「4つ星」, "4 stars") or as a row of ★ (☆ for the stars not given): the number
    as text, or None if the cell is written otherwise."""
    patterns = []
    for pattern in vocabulary.get("stars") or ():
        before, _num, after = pattern.partition("%(num)s")
        if _num:
            patterns.append(
                re.compile(rf"{re.escape(fold(before))}\s*(\d+)\s*{re.escape(fold(after))}")
            )

    def read(cell):
        cell = fold(cell)
        if cell and set(cell) <= {"★", "☆", " "} and "★" in cell:
            return str(cell.count("★"))
        for pattern in patterns:
            if (found := pattern.fullmatch(cell)) is not None:
                return found.group(1)
        return None

    return read


@register
class CsvConnector(Connector):
    single_document = True
    kind = "csv"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "delimiter", "mapping", "defaults", "values"), self.kind)
        language = check_language(settings, default=None) if "language" in settings else None
        mapping = settings.get("mapping")
        if mapping is not None:
            if not isinstance(mapping, dict) or not all(
                isinstance(v, str) and v for v in mapping.values()
            ):
                raise SettingsError(
                    "mapping must map the hub's fields to column names", code="csv_mapping"
                )
            if unknown := sorted(set(mapping) - set(FIELDS)):
                raise SettingsError(
                    f"mapping has unknown fields: {', '.join(unknown)}",
                    code="csv_mapping_unknown",
                    names=unknown,
                )
            if missing := [f for f in REQUIRED if f not in mapping]:
                raise SettingsError(
                    f"mapping needs a column for: {', '.join(missing)}",
                    code="csv_mapping_missing",
                    fields=missing,
                )
            if language is None:
                raise SettingsError(
                    f"language must be one of {', '.join(LANGUAGES)}",
                    code="csv_mapping_language",
                    languages=list(LANGUAGES),
                )
        defaults = settings.get("defaults") or {}
        if not isinstance(defaults, dict) or set(defaults) - set(PRODUCT_FIELDS):
            raise SettingsError("defaults may give only product fields", code="csv_defaults")
        if mapping is not None and "product_group" not in mapping | defaults:
            raise SettingsError(
                "give product_group as a column or in defaults",
                code="csv_product_group",
                fields=["product_group"],
            )
        delimiter = settings.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise SettingsError("delimiter must be one character", code="csv_delimiter")
        values = settings.get("values") or {}
        if not isinstance(values, dict):
            raise SettingsError(
                "values must map fields to {partner's value: hub's value}", code="csv_values"
            )
        columns = set(FIELDS) if mapping is None else set(mapping) | {"partner_id"}
        if unknown := sorted(set(values) - columns):
            raise SettingsError(
                f"values are given for fields without a column: {', '.join(unknown)}",
                code="csv_values_no_column",
                fields=unknown,
            )
        for name, table in values.items():
            if name in ("partner_id", *TEXT_FIELDS, MEDIA_FIELD):
                raise SettingsError(
                    f"values cannot change {name}", code="csv_values_fixed", fields=[name]
                )
            if not isinstance(table, dict) or not all(
                isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in table.items()
            ):
                raise SettingsError(
                    f"values for {name} must map texts to texts",
                    code="csv_values_texts",
                    fields=[name],
                )
        return {
            "language": language,
            "mapping": mapping,
            "defaults": defaults,
            "delimiter": delimiter,
            "values": values,
        }

    def read(self, client, settings, state):
        url = settings["url"]
        # Read a line at a time from the fetched file: memory does not grow with its length.
        stream = client.get(url, conditional=True).lines()
        reader = csv.reader(stream, delimiter=settings["delimiter"])
        try:
            header = next(reader, None) or []
        except UnicodeDecodeError as exc:
            raise ConnectorError(
                f"the file is not UTF-8 (byte {exc.start})",
                f"{url}, line 1",
                code="not_utf8",
                byte=exc.start,
                url=url,
                line=1,
            ) from None
        except csv.Error as exc:
            raise ConnectorError(
                f"unreadable CSV: {exc}",
                f"{url}, line 1",
                code="csv_unreadable",
                error=str(exc),
                url=url,
                line=1,
            ) from None
        vocabulary = getattr(client, "vocabulary", None) or {}
        mapping, language, defaults = (
            settings["mapping"],
            settings["language"],
            settings["defaults"],
        )
        if mapping is None:
            mapping, found = recognise(header, vocabulary)
            language = language or found
            wanted = [*REQUIRED] + ([] if "product_group" in defaults else ["product_group"])
            if missing := [f for f in wanted if f not in mapping]:
                raise ConnectorError(
                    f"the file has no column for {', '.join(missing)}",
                    f"{url}, line 1",
                    code="csv_missing_fields",
                    fields=missing,
                    url=url,
                    line=1,
                )
            if language is None:
                raise ConnectorError(
                    "say the file's language in the settings: its headers do not",
                    f"{url}, line 1",
                    code="csv_no_language",
                    url=url,
                    line=1,
                )
        elif missing := sorted(c for c in mapping.values() if c not in header):
            raise ConnectorError(
                f"the file has no column {', '.join(map(repr, missing))}",
                f"{url}, line 1",
                code="csv_missing_columns",
                columns=missing,
                url=url,
                line=1,
            )
        # Each field's column (the last of that name, as with csv.DictReader) and its default.
        last = {name: index for index, name in enumerate(header)}

        def spec(fields):
            return [
                (field, last[mapping[field]] if field in mapping else -1, defaults.get(field))
                for field in fields
            ]

        id_index, id_default = spec(("partner_id",))[0][1:]
        texts, products = spec(TEXT_FIELDS), spec(PRODUCT_FIELDS)
        # The partner's values, looked up as they are, then folded (case, spaces around); then
        # the hub's own names for them, in any of its languages.
        own = settings.get("values") or {}
        tables = {}
        for field in sorted(set(own) | set(vocabulary.get("values") or ())):
            if field not in mapping:
                continue
            hub_names = (vocabulary.get("values") or {}).get(field) or {}
            partner = own.get(field) or {}
            tables[field] = {
                **{fold(k): v for k, v in hub_names.items()},
                **{fold(k): v for k, v in partner.items()},
                **partner,
            }
        stars = star_reader(vocabulary) if "stars" in mapping else None
        media_index = last[mapping[MEDIA_FIELD]] if MEDIA_FIELD in mapping else None
        columns = dict(mapping)
        # The cells are read inline, not through a function per cell: a record has thirteen.
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ConnectorError(
                    f"unreadable CSV: {exc}",
                    f"{url}, line {reader.line_num}",
                    code="csv_unreadable",
                    error=str(exc),
                    url=url,
                    line=reader.line_num,
                ) from None
            except UnicodeDecodeError:
                raise ConnectorError(
                    "the file is not UTF-8",
                    f"{url}, after line {reader.line_num}",
                    code="not_utf8",
                    url=url,
                    after_line=reader.line_num,
                ) from None
            if not row:
                continue  # a blank line, which csv.DictReader skips too
            width = len(row)
            text = {}
            for field, index, default in texts:
                text[field] = (row[index].strip() if -1 < index < width else "") or default or ""
            data = {"source_language": language, "translations": {language: text}}
            for field, index, default in products:
                data[field] = (row[index].strip() if -1 < index < width else "") or default
            for field, table in tables.items():
                cell = data.get(field)
                if cell and isinstance(cell, str):
                    found = table.get(cell, table.get(fold(cell)))
                    if found is not None:
                        data[field] = found.strip() or defaults.get(field)
            if stars is not None and (cell := data.get("stars")) and not cell.isdigit():
                data["stars"] = stars(cell) or cell
            if media_index is not None:
                cell = row[media_index] if media_index < width else ""
                title = text["title"] or None
                found = ((url, None, title) for url in URLS.split(cell) if url)
                data["media"] = media_list(found, language) or []
            partner_id = row[id_index].strip() if -1 < id_index < width else ""
            yield Record(
                partner_id=partner_id or id_default or "",
                collection="products",
                data=data,
                columns=columns,
            )
        return {}
