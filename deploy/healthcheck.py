"""The container's health check (deploy/Containerfile): ``GET /healthz`` from the gunicorn in
the same container, exit status 0 when it answers 200. Python, because slim images have no
curl. It names the host of ``HUB_BASE_URL``, which the hub always trusts (a request for another
host would be refused with 400 when ``HUB_TRUSTED_HOSTS`` is set), else ``localhost``."""

import http.client
import os
import sys
from urllib.parse import urlsplit


def main():
    host = urlsplit(os.environ.get("HUB_BASE_URL", "")).hostname or "localhost"
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/healthz", headers={"Host": host})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"/healthz: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"/healthz answered {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
