"""``csv``: a partner's product list as CSV, with a mapping from the hub's fields to its columns.

Settings::

    {"language": "vi",                      # the language the texts are written in
     "delimiter": ",",                      # optional
     "mapping": {"partner_id": "Mã", "title": "Tên sản phẩm", "product_group": "Nhóm", ...},
     "defaults": {"rating_scheme": "ocop"}, # optional: a value for fields no column gives
     "values": {"stars": {"3 sao": "3", "4 sao": "4"}}}  # optional: the partner's values

``values`` maps, for a field, the partner's way of writing a value to the hub's: a cell is
matched as it is, then ignoring case and the spaces around it; a cell it does not list is taken
as it is (and refused with its reasons if the hub cannot take it).

The file may be UTF-8 with or without a byte-order mark. Every run reads the whole list: a
product no longer listed was removed at the partner.
"""

import csv

from connectors._util import check_keys, check_language
from connectors.base import Connector, ConnectorError, Record, register

TEXT_FIELDS = ("title", "body")
PRODUCT_FIELDS = (
    "producer_name", "producer_type", "locality", "product_group", "rating_scheme", "stars",
    "rated_on", "valid_until",
)  # fmt: skip
REQUIRED = ("partner_id", "title")


@register
class CsvConnector(Connector):
    single_document = True
    kind = "csv"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "delimiter", "mapping", "defaults", "values"), self.kind)
        language = check_language(settings, default=None)
        mapping = settings.get("mapping")
        if not isinstance(mapping, dict) or not all(
            isinstance(v, str) and v for v in mapping.values()
        ):
            raise ValueError("mapping must map the hub's fields to column names")
        allowed = set(REQUIRED) | set(TEXT_FIELDS) | set(PRODUCT_FIELDS)
        if unknown := sorted(set(mapping) - allowed):
            raise ValueError(f"mapping has unknown fields: {', '.join(unknown)}")
        if missing := [f for f in REQUIRED if f not in mapping]:
            raise ValueError(f"mapping needs a column for: {', '.join(missing)}")
        defaults = settings.get("defaults") or {}
        if not isinstance(defaults, dict) or set(defaults) - set(PRODUCT_FIELDS):
            raise ValueError("defaults may give only product fields")
        if "product_group" not in mapping and "product_group" not in defaults:
            raise ValueError("give product_group as a column or in defaults")
        delimiter = settings.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ValueError("delimiter must be one character")
        values = settings.get("values") or {}
        if not isinstance(values, dict):
            raise ValueError("values must map fields to {partner's value: hub's value}")
        if unknown := sorted(set(values) - set(mapping) - {"partner_id"}):
            raise ValueError(f"values are given for fields without a column: {', '.join(unknown)}")
        for name, table in values.items():
            if name in ("partner_id", *TEXT_FIELDS):
                raise ValueError(f"values cannot change {name}")
            if not isinstance(table, dict) or not all(
                isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in table.items()
            ):
                raise ValueError(f"values for {name} must map texts to texts")
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
                f"the file is not UTF-8 (byte {exc.start})", f"{url}, line 1"
            ) from None
        except csv.Error as exc:
            raise ConnectorError(f"unreadable CSV: {exc}", f"{url}, line 1") from None
        mapping = settings["mapping"]
        if missing := sorted(c for c in mapping.values() if c not in header):
            raise ConnectorError(
                f"the file has no column {', '.join(map(repr, missing))}", f"{url}, line 1"
            )
        language, defaults = settings["language"], settings["defaults"]
        # Each field's column (the last of that name, as with csv.DictReader) and its default.
        last = {name: index for index, name in enumerate(header)}

        def spec(fields):
            return [
                (field, last[mapping[field]] if field in mapping else -1, defaults.get(field))
                for field in fields
            ]

        id_index, id_default = spec(("partner_id",))[0][1:]
        texts, products = spec(TEXT_FIELDS), spec(PRODUCT_FIELDS)
        # The partner's values, looked up as they are, then folded (case, spaces around).
        tables = {
            field: {
                **{k.strip().casefold(): v for k, v in table.items()},
                **table,
            }
            for field, table in settings.get("values", {}).items()
        }
        columns = {field: column for field, column in mapping.items() if field != "partner_id"}
        # The cells are read inline, not through a function per cell: a record has eleven.
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ConnectorError(
                    f"unreadable CSV: {exc}", f"{url}, line {reader.line_num}"
                ) from None
            except UnicodeDecodeError:
                raise ConnectorError(
                    "the file is not UTF-8", f"{url}, after line {reader.line_num}"
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
                    found = table.get(cell, table.get(cell.casefold()))
                    if found is not None:
                        data[field] = found.strip() or defaults.get(field)
            partner_id = row[id_index].strip() if -1 < id_index < width else ""
            yield Record(
                partner_id=partner_id or id_default or "",
                collection="products",
                data=data,
                columns=columns,
            )
        return {}
