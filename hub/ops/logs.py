"""Log lines: one JSON object a line for the machines that collect them, plain text for a person
at a terminal (``HUB_LOG_FORMAT``: ``json``, ``text``, or ``auto``, text when stderr is a
terminal).

Every line written while a request is answered carries its id (``request_id``, the one sent back
as ``X-Request-ID``, hub.ops.observe), whoever logged it. The fields a line carries besides its
time, level, logger and message are the ``extra`` it was logged with: the request and job lines
(hub.ops.observe) give theirs.

Logging is configured once per process, by what starts it: gunicorn (``GunicornLogger`` in
hub.serving) and the scheduler (``hub scheduler``), all on stderr. An app alone configures
nothing: the tests, and programs that embed it, keep their own logging.
"""

import contextvars
import logging
import sys
from datetime import UTC, datetime

import orjson
from flask.logging import default_handler

# The id of the request this thread is answering (None outside requests).
request_id = contextvars.ContextVar("hub_request_id", default=None)

# What every LogRecord has: anything else on a record is a field its logger gave (``extra``).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    """Gives each record the id of the request under way (if it has none of its own)."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
    record's own fields, and ``exception`` with the traceback when there is one."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message [request id]``, for a person reading a terminal."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record):
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        if rid is None:
            return text
        first, newline, rest = text.partition("\n")  # after the message, not the traceback
        return f"{first} [{rid}]{newline}{rest}"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as ``logging.lastResort`` does): a
    stream replaced after set-up (a test's capture, a redirection) is followed."""

    def __init__(self, level=logging.NOTSET):
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        return sys.stderr


def formatter(fmt="auto"):
    """The formatter for ``fmt`` ("json", "text", "auto": text when stderr is a terminal)."""
    if fmt == "auto":
        fmt = "text" if _is_terminal(sys.stderr) else "json"
    return TextFormatter() if fmt == "text" else JsonFormatter()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def configure(fmt="auto", level=logging.INFO):
    """Send the process's log lines (the root logger's) to stderr in the form ``fmt``, from
    ``level`` on; a second call replaces what the first set up. Returns the handler."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # Said at INFO and of no use here: APScheduler's two lines a job run (the hub writes one
    # of its own, hub.ops.observe), the plugins Alembic sets up when a process first reads the
    # migrations (/readyz does). Their warnings and errors still show.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # Flask gives the app's logger ("hub") a handler of its own when nothing handles it yet:
    # its lines, and those of hub.*, would be written twice.
    logging.getLogger("hub").removeHandler(default_handler)
    return handler
