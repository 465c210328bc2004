"""Log lines: one a request (replayed ones too) and one a scheduler job, as JSON or text, each
request's id sent back as X-Request-ID and carried by every line logged while it is answered."""

import json
import logging

import pytest
from werkzeug.test import Client

from hub.ops import logs
from hub.ops.observe import RequestObserver, observed_job
from tests.support import sign_in


def request_lines(caplog):
    return [record for record in caplog.records if record.name == "hub.requests"]


@pytest.fixture
def caplog(caplog):
    caplog.set_level(logging.INFO)
    return caplog


@pytest.fixture
def configured():
    """The process's logging as ``logs.configure`` sets it up, undone afterwards."""
    loggers = [logging.getLogger(name) for name in ("", "apscheduler", "alembic")]
    levels, handlers = [logger.level for logger in loggers], list(loggers[0].handlers)
    yield logs.configure
    for handler in loggers[0].handlers[:]:
        if handler not in handlers:
            loggers[0].removeHandler(handler)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_each_request_has_an_id_sent_back_and_one_json_line(client, caplog):
    answer = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert answer.headers["X-Request-ID"] == "lb-7f3a.42"
    [record] = request_lines(caplog)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "lb-7f3a.42"
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["route"] == "/healthz"
    assert line["status"] == 200 and line["level"] == "INFO" and line["logger"] == "hub.requests"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["remote_addr"] == "127.0.0.1"
    assert line["time"].endswith("+00:00")
    assert "user_id" not in line and "token_id" not in line  # nobody signed in


@pytest.mark.parametrize("given", ["", "x" * 65, "two words", "a\u00e9b", "id;drop"])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(client, caplog, given):
    answer = client.get("/healthz", headers={"X-Request-ID": given})
    made = answer.headers["X-Request-ID"]
    assert made != given and len(made) == 16 and int(made, 16) >= 0
    assert request_lines(caplog)[-1].request_id == made


def test_ids_differ_from_request_to_request(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_a_replayed_answer_has_its_own_id_and_line(client, caplog):
    url = "/api/v1/countries?lang=en"
    first = client.get(url)
    again = client.get(url, headers={"X-Request-ID": "replayed-1"})
    assert again.headers.getlist("X-Request-ID") == ["replayed-1"]
    assert first.headers["X-Request-ID"] != "replayed-1"
    made, replayed = request_lines(caplog)
    assert made.route == replayed.route == "/api/v1/countries"
    assert replayed.request_id == "replayed-1" and replayed.status == 200


def test_the_line_names_who_asked(client, caplog, tokens):
    client.post("/api/v1/ingest", json={"records": []}, headers=tokens["VN"])
    assert isinstance(request_lines(caplog)[-1].token_id, int)
    sign_in(client, "admin@hub.test")
    client.get("/en/admin/")
    line = request_lines(caplog)[-1]
    assert isinstance(line.user_id, int) and line.token_id is None


def test_every_line_logged_while_a_request_is_answered_carries_its_id(caplog, configured):
    def app(environ, start_response):
        logging.getLogger("hub.somewhere").warning("something to say")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    handler = configured("json")
    caplog.handler.addFilter(logs.RequestIdFilter())
    answer = Client(RequestObserver(app)).get("/", headers={"X-Request-ID": "abc"})
    assert answer.headers["X-Request-ID"] == "abc"
    said = next(r for r in caplog.records if r.name == "hub.somewhere")
    assert json.loads(handler.format(said))["request_id"] == "abc"
    logging.getLogger("hub.somewhere").warning("outside any request")
    assert caplog.records[-1].request_id is None


def test_text_lines_for_a_person(client, capsys, configured):
    configured("text")
    client.get("/healthz", headers={"X-Request-ID": "abc"})
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "hub.requests" in line]
    assert " INFO hub.requests: GET /healthz 200 " in line and line.endswith(" ms [abc]")


def test_json_lines_when_not_at_a_terminal(client, capsys, configured):
    configured("auto")  # the test's stderr is no terminal
    client.get("/healthz")
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "hub.requests" and line["status"] == 200 for line in lines)


def test_a_job_run_is_one_line_with_its_outcome_and_duration(caplog):
    def broken():
        raise RuntimeError("the partner went away")

    observed_job("source-7", lambda: None, label="source")()
    observed_job("deliver-webhooks", broken)()  # the failure goes no further
    ok, failed = [r for r in caplog.records if r.name == "hub.jobs"]
    assert (ok.job, ok.outcome, ok.levelno) == ("source-7", "ok", logging.INFO)
    assert (failed.job, failed.outcome, failed.levelno) == ("deliver-webhooks", "error", 40)
    assert ok.duration_ms >= 0
    line = json.loads(logs.JsonFormatter().format(failed))
    assert "the partner went away" in line["exception"] and line["job"] == "deliver-webhooks"


def test_a_frequent_job_that_went_well_logs_at_debug(caplog):
    observed_job("deliver-mail", lambda: None, every=10)()
    [record] = [r for r in caplog.records if r.name == "hub.jobs"] or [None]
    assert record is None  # caplog at INFO: not shown
    caplog.set_level(logging.DEBUG, logger="hub.jobs")
    observed_job("deliver-mail", lambda: None, every=10)()
    assert [r.levelno for r in caplog.records if r.name == "hub.jobs"] == [logging.DEBUG]
