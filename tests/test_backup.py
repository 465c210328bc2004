"""``hub backup`` and ``hub restore``: a hub restored from a backup, into SQLite or PostgreSQL
whichever it was made from, answers every API list and the whole changes feed record for record
as the hub it was taken from (but the feed's new epoch), media included, and so does one backed
up at an older schema revision, upgraded as it is restored; a damaged backup, a newer schema's,
a database a newer hub migrated or one that is not empty are refused and nothing is written, and
a database out of reach is said in one line; a backup taken while writes go on is a consistent
one; and the changes feed answers a cursor of another history 410 with the baseline to start
again from."""

import io
import json
import os
import shutil
import subprocess
import threading
import uuid
from contextlib import contextmanager

import boto3
import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import func, inspect, select, text, update

from hub.accounts.models import User
from hub.accounts.services import create_user
from hub.db import alembic_config, downgrade, make_engine, migration_revisions, upgrade
from hub.extensions import db
from hub.media import services as media
from hub.media.storage import storage
from hub.ops import portable
from hub.publishing import services as publishing
from hub.publishing.models import ChangeCounter, Entry, EntryTranslation
from hub.registry.seeding import seed_registry
from hub.search.index import is_index_object
from tests.support import (
    PASSWORD,
    USERS,
    fresh_database,
    make_test_app,
    sample_entries,
    sign_in,
)

ROUND_TRIPS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "sqlite")]
HEAD = migration_revisions()[0]
OLDER = "0033"  # the revision before 0034, which adds hub_state (the feed's epoch)
LISTS = (
    "countries", "programmes", "policies", "experiences", "fairs", "fairs?when=past", "products",
    "policies?q=ocop", "products?q=thai%20nguyen",  # the search index, made again
)  # fmt: skip


@contextmanager
def hub_on(backend, folder, name):
    """An app of its own on an empty database of ``backend``, its media in a folder of its own."""
    with fresh_database(backend, folder) as url:
        app = make_test_app(url, MEDIA_URL=str(folder / f"{name}-media"))
        try:
            yield app
        finally:
            db.binding(app).engine.dispose()


def fill(app):
    """A hub with a bit of everything: the registry, accounts, an entry of each kind (one with
    a translation, one with a photo), an edit, a deletion."""
    with app.app_context():
        upgrade(db.engine)
        seed_registry()
        for email, (role, country) in USERS.items():
            create_user(email, PASSWORD, role, country)
    with app.test_request_context("/"):
        entries = sample_entries()
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        media.add(entries["product"].id, "tea.jpg", photo(), alts={"en": "A tea field"})
        media.process_pending()
        publishing.save_text(vn, entries["fair"].id, "en", {"title": "OCOP Fair, Hạ Long Bay"})
        publishing.delete_entry(vn, entries["experience"].id)


def photo():
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


def hub_command(app, *args):
    return app.test_cli_runner().invoke(args=["hub", *args])


def answers(app):
    """Every API list (every page, every language) and the whole changes feed, as a client
    reads them; the media's bytes by URL; and the feed's epoch apart."""
    client = app.test_client()
    lists = {}
    for name in LISTS:
        items, cursor = [], None
        while True:
            joiner = "&" if "?" in name else "?"
            url = f"/api/v1/{name}{joiner}lang=all&limit=2"
            body = client.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
            items += body["items"]
            if not (cursor := body.get("next_cursor")):
                break
        lists[name] = items
    feed, since, epochs = [], 0, set()
    while True:
        body = client.get(f"/api/v1/changes?since={since}&limit=2").get_json()
        feed += body["items"]
        epochs.add(body["epoch"])
        since = body["next_since"]
        if not body["more"]:
            break
    assert len(epochs) == 1
    files = {}
    for item in feed:
        for medium in (item.get("record") or {}).get("media", ()):
            for variant in medium["variants"]:
                answer = client.get(variant["url"])
                assert answer.status_code == 200
                files[variant["url"]] = answer.data
    return {"lists": lists, "feed": feed, "files": files}, epochs.pop()


@pytest.mark.parametrize(("origin", "target"), ROUND_TRIPS, ids=lambda b: b)
def test_a_restored_hub_answers_as_the_one_backed_up(tmp_path, origin, target):
    backup = tmp_path / "backup"
    with hub_on(origin, tmp_path, "origin") as first:
        fill(first)
        before, old_epoch = answers(first)
        assert before["lists"]["policies?q=ocop"] and before["lists"]["products?q=thai%20nguyen"]
        made = hub_command(first, "backup", "--to", str(backup))
        assert made.exit_code == 0, made.output
    assert "Backup written to" in made.output
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["dialect"] == origin and manifest["epoch"] == old_epoch
    assert manifest["tables"]["entry"]["rows"] == 4
    assert any(name.startswith("media/v/") for name in manifest["files"])
    assert ("database.pgdump" in manifest["files"]) == (origin == "postgresql")
    if origin == "postgresql" and shutil.which("pg_restore"):
        listed = subprocess.run(
            ["pg_restore", "--list", str(backup / "database.pgdump")], capture_output=True
        )
        assert listed.returncode == 0 and b"TABLE DATA" in listed.stdout
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]

    with hub_on(target, tmp_path, "target") as second:
        restored = hub_command(second, "restore", "--from", str(backup))
        assert restored.exit_code == 0, restored.output
        after, new_epoch = answers(second)
        assert after["files"] and after == before
        assert new_epoch != old_epoch
        # The accounts came too: an administrator signs in with the same password.
        assert sign_in(second.test_client(), "admin@hub.test").status_code == 302
        # New rows take new ids (PostgreSQL's sequences follow the restored rows).
        with second.test_request_context("/"):
            vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
            entry = publishing.create_entry(vn, "policy", "en", {"title": "After"}, {})
            assert entry.id == 5
            assert media.check().ok


OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


@pytest.mark.parametrize("into", ["same", "other"])
def test_a_backup_of_an_older_schema_is_restored_and_upgraded(tmp_path, backend, into):
    """A hub whose schema is one revision behind (before ``hub migrate``) is backed up; the
    backup is restored into an empty database of the same kind or the other, which ends at
    this hub's revision and answers as the hub did."""
    backup, target = tmp_path / "backup", backend if into == "same" else OTHER[backend]
    with hub_on(backend, tmp_path, "origin") as first:
        fill(first)
        before, _epoch = answers(first)
        with first.app_context():
            downgrade(db.engine, OLDER)
        made = hub_command(first, "backup", "--to", str(backup))
        assert made.exit_code == 0, made.output
    assert f"schema revision {OLDER}." in made.output
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["revision"] == OLDER and manifest["epoch"] is None
    assert "hub_state" not in manifest["tables"] and "account_token" in manifest["tables"]
    with hub_on(target, tmp_path, "target") as second:
        restored = hub_command(second, "restore", "--from", str(backup))
        assert restored.exit_code == 0, restored.output
        assert f"(schema revision {OLDER})" in restored.output
        with second.app_context(), db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
        after, new_epoch = answers(second)
        assert after["files"] and after == before
        assert new_epoch in restored.output
        assert sign_in(second.test_client(), "admin@hub.test").status_code == 302


def test_every_revision_holds_only_what_the_models_describe(tmp_path, backend):
    """A backup of a database at any revision carries the models' tables and columns that it
    holds, of the models' kinds (``portable.tables_of``): that is the whole of its data only if
    no migration ever removes a table or a column, or retypes one. A migration that does breaks
    this test: backups of the revisions before it would lose what it removed, or read it with
    the wrong kind."""
    models = {table.name: dict(portable.columns_of(table)) for table in portable.app_tables()}
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [script.revision for script in scripts.walk_revisions()]  # newest first
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            for revision in reversed(revisions):
                upgrade(engine, revision)
                with engine.connect() as connection:
                    present = inspect(connection)
                    for name in present.get_table_names():
                        if name == "alembic_version" or is_index_object(name):
                            continue
                        assert name in models, (revision, name)
                        for column in present.get_columns(name):
                            where = (revision, name, column["name"])
                            kind = models[name].get(column["name"])
                            assert kind is not None, where
                            # A UTC time is the kind "datetime" as the database says it.
                            reflected = portable.kind_of(column["type"])
                            assert reflected == kind.replace("utc", "datetime"), where
                            if backend == "postgresql" and reflected == "datetime":
                                assert column["type"].timezone == (kind == "utc"), where
        finally:
            engine.dispose()


def test_a_damaged_backup_is_refused_and_nothing_written(tmp_path):
    backup = tmp_path / "backup"
    with hub_on("sqlite", tmp_path, "origin") as first:
        fill(first)
        assert hub_command(first, "backup", "--to", str(backup)).exit_code == 0
    manifest = json.loads((backup / "manifest.json").read_text())
    variant = next(name for name in manifest["files"] if name.startswith("media/v/"))
    with open(backup / variant, "r+b") as damaged:
        damaged.seek(10)
        damaged.write(b"\x00\x01")
    with hub_on("sqlite", tmp_path, "target") as second:
        refused = hub_command(second, "restore", "--from", str(backup))
        assert refused.exit_code == 1
        assert refused.output.strip() == (
            f"The backup is damaged: {variant} is missing or does not match its checksum in "
            "the manifest. Nothing was restored."
        )
        with second.app_context():
            assert inspect(db.engine).get_table_names() == []
        assert not os.path.exists(tmp_path / "target-media")


def test_a_newer_schema_and_a_database_in_use_are_refused(tmp_path):
    backup = tmp_path / "backup"
    with hub_on("sqlite", tmp_path, "origin") as first:
        fill(first)
        assert hub_command(first, "backup", "--to", str(backup)).exit_code == 0
        # Into a hub that holds data already: refused, whatever the backup.
        refused = hub_command(first, "restore", "--from", str(backup))
        assert refused.exit_code == 1
        assert refused.output.startswith("The database is not empty (")
        assert "HUB_DATABASE_URL" in refused.output
        # The backup folder exists: a second backup will not write into it.
        again = hub_command(first, "backup", "--to", str(backup))
        assert again.exit_code == 1 and "exists and is not empty" in again.output
    manifest = json.loads((backup / "manifest.json").read_text())
    (backup / "manifest.json").write_text(json.dumps({**manifest, "revision": "9999"}))
    with hub_on("sqlite", tmp_path, "target") as second:
        refused = hub_command(second, "restore", "--from", str(backup))
        assert refused.exit_code == 1
        assert "revision 9999" in refused.output and "newer than this hub's" in refused.output
        with second.app_context():
            assert inspect(db.engine).get_table_names() == []
        gone = hub_command(second, "restore", "--from", str(tmp_path / "nowhere"))
        assert gone.exit_code == 1 and "hub backup" in gone.output


def test_a_database_of_a_newer_hub_or_out_of_reach_is_refused(tmp_path, backend):
    """A target (or a hub to back up) whose schema a newer hub migrated is refused in one line,
    and nothing is written; so is a database that cannot be reached."""
    backup = tmp_path / "backup"
    with hub_on("sqlite", tmp_path, "origin") as first:
        fill(first)
        assert hub_command(first, "backup", "--to", str(backup)).exit_code == 0
    with hub_on(backend, tmp_path, "target") as second:
        none_yet = hub_command(second, "backup", "--to", str(tmp_path / "none"))
        assert none_yet.exit_code == 1
        assert none_yet.output.strip() == "The database has no schema yet: run “hub migrate” first."
        with second.app_context():
            upgrade(db.engine)
            with db.engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        refused = hub_command(second, "restore", "--from", str(backup))
        assert refused.exit_code == 1
        assert refused.output.strip() == (
            f"The database's schema is at revision 9999, which this hub ({HEAD}) does not "
            "know: a newer hub migrated it. Restore into a new, empty database, or with that "
            "newer hub. Nothing was restored."
        )
        with second.app_context():
            assert not db.session.scalar(select(func.count()).select_from(Entry))
            assert not list(storage().files())
        made = hub_command(second, "backup", "--to", str(tmp_path / "newer"))
        assert made.exit_code == 1
        assert made.output.strip() == (
            f"The database's schema is at revision 9999, which this hub ({HEAD}) does not "
            "know: back it up with the newer hub that migrated it."
        )
        assert not os.path.exists(tmp_path / "none") and not os.path.exists(tmp_path / "newer")
        assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]
    if backend == "sqlite":
        nowhere = f"sqlite:///{tmp_path}/no/such/folder/hub.sqlite3"
    else:
        nowhere = "postgresql+psycopg://hub@127.0.0.1:1/hub?connect_timeout=5"
    unreachable = make_test_app(nowhere, MEDIA_URL=str(tmp_path / "nowhere-media"))
    for command in (["restore", "--from", str(backup)], ["backup", "--to", str(tmp_path / "b")]):
        refused = hub_command(unreachable, *command)
        assert refused.exit_code == 1, refused.output
        assert refused.output.startswith("The database cannot be reached: "), refused.output
        assert len(refused.output.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "nowhere-media")
    assert not os.path.exists(tmp_path / "b")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_backup_taken_while_writes_go_on_is_consistent(tmp_path, backend):
    """Entries are written one after another while the backup is made: the backup holds each
    entry it holds with its texts, and the change counter as it was at the same moment."""
    backup = tmp_path / "backup"
    with hub_on(backend, tmp_path, "origin") as first:
        fill(first)
        stop, written = threading.Event(), []

        def write():
            with first.test_request_context("/"):
                vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
                while not stop.is_set():
                    entry = publishing.create_entry(vn, "policy", "en", {"title": "Busy"}, {})
                    publishing.set_status(vn, entry.id, "published")
                    written.append(entry.id)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while not written:
                stop.wait(0.01)
            made = hub_command(first, "backup", "--to", str(backup))
            after_backup = len(written)
            while len(written) == after_backup:
                stop.wait(0.01)
        finally:
            stop.set()
            writer.join()
        assert made.exit_code == 0, made.output
    manifest = json.loads((backup / "manifest.json").read_text())
    # Written before the backup and after it: the backup has some of them.
    assert 4 < manifest["tables"]["entry"]["rows"] < 4 + len(written)
    with hub_on("sqlite", tmp_path, "target") as second:
        assert hub_command(second, "restore", "--from", str(backup)).exit_code == 0
        with second.app_context():
            entries = db.session.scalar(select(func.count()).select_from(Entry))
            texts = db.session.scalar(select(func.count()).select_from(EntryTranslation))
            assert entries == manifest["tables"]["entry"]["rows"]
            assert texts == manifest["tables"]["entry_translation"]["rows"]
            # Every entry has its text; none is half written.
            assert not db.session.scalar(
                select(func.count())
                .select_from(Entry)
                .where(~Entry.id.in_(select(EntryTranslation.entry_id)))
            )
            # The counter as it was with those entries: no change number given twice.
            counter = db.session.scalar(select(ChangeCounter.value))
            assert counter >= db.session.scalar(select(func.max(Entry.change_seq)))


# The changes feed's epoch (on each database, in the shared test app).


def test_the_feed_answers_a_cursor_of_another_history_410(client, app):
    first = client.get("/api/v1/changes").get_json()
    epoch = first["epoch"]
    assert len(epoch) == 16 and client.get("/api/v1/changes").get_json()["epoch"] == epoch
    ok = client.get(f"/api/v1/changes?since=0&epoch={epoch}")
    assert ok.status_code == 200
    for url in (
        "/api/v1/changes?since=0&epoch=0123456789abcdef",
        f"/api/v1/changes?since={first['next_since'] + 1000}",
        f"/api/v1/changes?since={first['next_since'] + 1000}&epoch={epoch}",
    ):
        gone = client.get(url)
        assert gone.status_code == 410, url
        body = gone.get_json()
        assert (body["epoch"], body["next_since"]) == (epoch, 0)
        assert body["error"]["reason"] == "feed_restarted" and body["error"]["code"] == 410
    assert "next_since 0" in body["error"]["message"]
    bad = client.get("/api/v1/changes?epoch=" + "x" * 65)
    assert bad.status_code == 422 and "epoch" in bad.get_json()["error"]["details"]


def test_the_media_travel_between_buckets(tmp_path, s3_server):
    """A hub whose media are in a bucket is backed up, and restored into a hub with a bucket
    of its own: every file is there, byte for byte."""
    buckets = [f"hub-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for bucket in buckets:
        boto3.client("s3").create_bucket(Bucket=bucket)
    backup = tmp_path / "backup"
    with hub_on("sqlite", tmp_path, "origin") as first:
        first.config["MEDIA_URL"] = f"s3://{buckets[0]}/hub"
        fill(first)
        assert hub_command(first, "backup", "--to", str(backup)).exit_code == 0
        with first.app_context():
            files = {f.key: storage().get(f.key) for f in storage().files()}
    assert len(files) >= 2  # the original and its variants
    with hub_on("sqlite", tmp_path, "target") as second:
        second.config["MEDIA_URL"] = f"s3://{buckets[1]}/restored"
        assert hub_command(second, "restore", "--from", str(backup)).exit_code == 0
        with second.app_context():
            assert {f.key: storage().get(f.key) for f in storage().files()} == files
            assert media.check().ok


def test_a_cursor_another_process_just_gave_is_not_refused(app, client):
    """The epoch and the newest change are kept while the data version stays the same (read
    again at most every second): a number another process gave a moment ago is checked
    against the database before it is refused."""
    client.get("/api/v1/changes")  # the epoch is made, and committed
    epoch = client.get("/api/v1/changes?limit=1").get_json()["epoch"]  # and kept
    with app.test_request_context("/"):
        # Another process's write: no commit here, so nothing tells this one's cache.
        newest = db.session.execute(
            update(ChangeCounter)
            .values(value=ChangeCounter.value + 5)
            .returning(ChangeCounter.value)
        ).scalar_one()
        db.session.flush()
        answer = client.get(f"/api/v1/changes?since={newest}&epoch={epoch}")
        assert answer.status_code == 200 and answer.get_json()["items"] == []
        assert client.get(f"/api/v1/changes?since={newest + 1}").status_code == 410
