"""The raw limit of ingest: the partner's CSV parsed with ``csv`` and upserted with the
``sqlite3`` module into a plain table keyed by the partner's id, 500 rows a transaction (the
hub's batch size), WAL as the hub uses it; no validation, no translations, no change feed.

    python -m bench.raw_child FEED.csv DATABASE.sqlite3
"""

import csv
import sqlite3
import sys

COLUMNS = [
    "partner_id", "title", "body", "producer_name", "producer_type", "locality",
    "product_group", "rating_scheme", "stars", "rated_on", "valid_until",
]  # fmt: skip
BATCH = 500


def main():
    csv_path, db_path = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS raw_product (partner_id TEXT PRIMARY KEY, title TEXT, "
        "body TEXT, producer_name TEXT, producer_type TEXT, locality TEXT, "
        "product_group TEXT, rating_scheme TEXT, stars INTEGER, rated_on TEXT, "
        "valid_until TEXT)"
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    sql = (
        f"INSERT INTO raw_product ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
        f"ON CONFLICT (partner_id) DO UPDATE SET {updates}"
    )

    def flush(rows):
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")

    count = 0
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)  # the header: the columns are in the order of COLUMNS
        batch = []
        for row in reader:
            batch.append([value or None for value in row])
            if len(batch) >= BATCH:
                flush(batch)
                count += len(batch)
                batch = []
        if batch:
            flush(batch)
            count += len(batch)
    conn.close()
    print(count)


if __name__ == "__main__":
    main()
