"""Fixtures: one migrated and seeded database per backend (SQLite, PostgreSQL) for the whole
run, and for each test a transaction that is rolled back afterwards, so every test starts from
the same seeded state and none sees another's writes.

The database-backed tests run once per backend. PostgreSQL is the server every development and
CI machine has at 127.0.0.1:5432 (``HUB_TEST_POSTGRES_URL`` overrides); when it cannot be
reached those tests are skipped with the reason, except under ``CI=true``, where they fail.
"""

import atexit
import os
import shutil
import tempfile
from datetime import UTC

import pytest

from hub.accounts.services import create_user
from hub.db import upgrade
from hub.extensions import db, limiter
from hub.registry.seeding import seed_registry
from tests.support import (
    AWKWARD_INSTANTS,
    BACKENDS,
    PASSWORD,
    USERS,
    awkward_instant,
    fresh_database,
    make_test_app,
    seeded_app,
)

# Every app the tests make, and every process they start, has an instance folder of the run's
# own: never the checkout's instance/ that make run fills (its secret key, its base_url), nor
# the settings of the shell the tests were started from.
for _name in ("HUB_BASE_URL", "HUB_SECRET_KEY", "HUB_DATABASE_URL", "HUB_TRUSTED_HOSTS"):
    os.environ.pop(_name, None)
os.environ["HUB_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="hub-test-instance-")
atexit.register(shutil.rmtree, os.environ["HUB_INSTANCE_PATH"], ignore_errors=True)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def base_app(database_url):
    app = make_test_app(database_url)
    with app.app_context():
        upgrade(db.engine)
        seed_registry()
        for email, (role, country) in USERS.items():
            create_user(email, PASSWORD, role, country)
    yield app
    db.binding(app).engine.dispose()


@pytest.fixture
def app(base_app):
    """The seeded app; everything a test writes is rolled back when it ends."""
    binding = db.binding(base_app)
    connection = binding.engine.connect()
    transaction = connection.begin()
    # The test's writes go to savepoints of this one outer transaction, which begins deferred
    # whatever the code asks (hub.db.DeferredWrite is checked on apps of their own).
    connection.info.pop("hub.transaction", None)
    # Sessions commit to savepoints inside the outer transaction, which the test never commits.
    binding.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield base_app
    finally:
        binding.sessionmaker.configure(
            bind=binding.engine, join_transaction_mode="conservative_savepoint"
        )
        transaction.rollback()
        connection.close()
        limiter.reset()
        # The rollback takes the data version back to where it was: answers cached during the
        # test would be served for another test's different data under the same version.
        base_app.extensions["hub.answers"].clear()


@pytest.fixture
def deployed_app(backend, tmp_path):
    """An app on a seeded database of its own, its sessions bound to the engine as in
    production: concurrent requests really are concurrent transactions (the ``app`` fixture
    shares one connection)."""
    with seeded_app(backend, tmp_path) as app:
        yield app


@pytest.fixture(scope="session")
def redis_url():
    """The Redis server every development and CI machine has (``HUB_TEST_REDIS_URL``, database
    15 by default); skipped when it cannot be reached, except under ``CI=true``."""
    import redis

    url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires Redis at {url}: {exc}", pytrace=False)
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    return url


@pytest.fixture
def loopback_allowed(app, monkeypatch):
    """Partners on loopback servers may be fetched (the fetcher refuses private addresses),
    each answer within 3 s."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1", "::1"])
    monkeypatch.setitem(app.config, "FETCH_DEADLINE", 3)


@pytest.fixture
def tokens(app):
    """An API token for Vietnam and one for Thailand, as request headers."""
    from hub.api.auth import issue_token

    with app.test_request_context("/"):
        return {
            country: {"Authorization": f"Bearer {issue_token('Tools', country)[1]}"}
            for country in ("VN", "TH")
        }


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """A request context in English, for calling services directly."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


@pytest.fixture(params=AWKWARD_INSTANTS, ids=lambda p: p[0].replace(" ", "T") + "Z")
def instant(request, time_machine):
    """The clock stopped at each of the awkward instants in turn (tests/support.py), on a
    machine whose own zone has another date than UTC; the instant, in UTC."""
    if "base_app" in request.fixturenames:
        request.getfixturevalue("base_app")  # seeded on the real clock, as the other tests'
    moment = awkward_instant(*request.param)
    time_machine.move_to(moment, tick=False)
    return moment.astimezone(UTC)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback, once per run, with the AWS variables boto3 reads set for
    the run (and only while the server runs); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(params=["local", "s3"])
def media_storage(request, app, tmp_path, monkeypatch):
    """The media stored in a folder of the test's own, then in a bucket of the test's own on
    moto's S3 server (each storage test runs on both); yields the storage."""
    from hub.media.storage import storage

    if request.param == "local":
        monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    else:
        import uuid

        import boto3

        request.getfixturevalue("s3_server")
        bucket = f"hub-{uuid.uuid4().hex[:12]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        monkeypatch.setitem(app.config, "MEDIA_URL", f"s3://{bucket}/hub")
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    return storage(app)


@pytest.fixture(scope="session")
def smtp_servers(tmp_path_factory):
    """aiosmtpd on loopback, once per run: ``{"plain", "starttls", "smtps"}`` (the last two with
    a self-signed certificate, ``.cert[0]``, and a login: tests/mail_servers.py)."""
    from tests.mail_servers import Server, certificate

    cert = certificate(tmp_path_factory.mktemp("relay"))
    servers = {mode: Server(mode, cert).start() for mode in ("plain", "starttls", "smtps")}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def relay(app, smtp_servers, monkeypatch):
    """The hub's mail sent to the plain SMTP server on loopback; yields its inbox, empty."""
    from hub.config import check_mail_url

    server = smtp_servers["plain"]
    server.inbox.clear()
    monkeypatch.setitem(app.config, "MAIL_URL", check_mail_url(server.url()))
    yield server.inbox
    server.inbox.clear()


@pytest.fixture
def product(app, time_machine):
    """The sample entries, written with the clock at 2025-06-01 10:00 UTC (stopped there);
    the id of their Vietnamese product (trade enquiries are made about it)."""
    from datetime import datetime

    from tests.support import sample_entries

    time_machine.move_to(datetime(2025, 6, 1, 10, 0, tzinfo=UTC), tick=False)
    with app.test_request_context("/"):
        return sample_entries()["product"].id
