"""Slow clients against the real server: gunicorn with deploy/gunicorn.conf.py, as make run
starts it (its read timeout shortened to keep the test short), on a loopback port and an
SQLite instance of its own. Stalled requests cost a connection and, for a bounded time, a
thread; everyone else is answered at once, and no answer names the server software."""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from hub.serving import THREADS_ARE_SAFE
from tests.support import stop_process_group

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEADLINE = 2.0  # the test server's read timeout, in seconds
STALLED = 20

# Under Python 3.11 each worker runs one thread (hub/serving.py): a stalled request holds it.
pytestmark = pytest.mark.skipif(
    not THREADS_ARE_SAFE, reason="one thread a worker under Python 3.11 (deploy/README.md)"
)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL of a gunicorn serving the hub; stopped (TERM, then KILL) at the end."""
    folder = tmp_path_factory.mktemp("serve")
    instance = folder / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text(secrets.token_urlsafe(48) + "\n")
    config = folder / "gunicorn.conf.py"
    deploy = ROOT / "deploy" / "gunicorn.conf.py"
    config.write_text(
        f"exec(compile(open({str(deploy)!r}).read(), {str(deploy)!r}, 'exec'))\n"
        f"Worker.read_timeout = {DEADLINE}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_INSTANCE_PATH"] = str(instance)
    migrate = [sys.executable, "-c", "from hub.cli import main; main()", "migrate"]
    done = subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    port = _free_port()
    argv = [str(BIN / "gunicorn"), "--config", str(config), "--bind", f"127.0.0.1:{port}",
            "wsgi:app"]  # fmt: skip
    with open(folder / "gunicorn.log", "wb") as log:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                assert proc.poll() is None, (folder / "gunicorn.log").read_text()
                try:
                    requests.get(base + "/healthz", timeout=2)
                    break
                except requests.RequestException:  # not listening yet, or still booting
                    time.sleep(0.1)
            else:
                pytest.fail("gunicorn did not answer within 30 s")
            yield base, port
        finally:
            stop_process_group(proc)


@contextlib.contextmanager
def stalled(port, head, count=STALLED):
    """``count`` connections that each send ``head`` and then nothing more."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(head)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _answer(sock, within):
    """What the server sends on ``sock`` before closing it, waiting ``within`` seconds at most."""
    sock.settimeout(within)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _body_head(port):
    return (
        f"POST /en/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        "email=a"
    ).encode()


def test_stalled_bodies_leave_the_server_answering_at_once(server):
    base, port = server
    with stalled(port, _body_head(port)) as socks:
        time.sleep(0.5)  # every stalled request is in the application, waiting for its body
        for path in ("/healthz", "/en/"):
            started = time.monotonic()
            response = requests.get(base + path, timeout=5)
            assert response.status_code == 200
            assert time.monotonic() - started < 1, path
        for sock in socks:
            answer = _answer(sock, DEADLINE + 5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
            assert b"\r\nConnection: close\r\n" in answer.partition(b"\r\n\r\n")[0]
        assert time.monotonic() - started < DEADLINE + 5  # all answered and closed together
        started = time.monotonic()
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 1


def test_stalled_headers_are_disconnected(server):
    base, port = server
    head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
    with stalled(port, head) as socks:
        time.sleep(0.5)
        started = time.monotonic()
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 1
        for sock in socks:
            assert _answer(sock, DEADLINE + 5) == b""


def test_a_body_sent_in_time_is_served(server):
    base, _port = server
    response = requests.post(base + "/en/login", data={"email": "a@hub.test"}, timeout=5)
    assert response.status_code == 400  # no CSRF token: refused by the application, in time


def test_no_answer_names_the_server_software(server):
    base, _port = server
    for path in ("/healthz", "/en/", "/no-such-page"):
        server_header = requests.get(base + path, timeout=5).headers.get("Server", "")
        assert "gunicorn" not in server_header.lower()
        assert not any(c.isdigit() for c in server_header)
