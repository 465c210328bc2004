"""The partner's side of the ingest figures: a static file server on loopback that sends no
validators (no ETag, no Last-Modified), so that every sync downloads and processes the whole
feed, as with a partner whose export is regenerated on each request.

    python -m bench.feed_server DIRECTORY PORT
"""

import shutil
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(directory):
    root = Path(directory).resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            name = self.path.split("?", 1)[0].lstrip("/")
            path = (root / name).resolve()
            if not name or path.parent != root or not path.is_file():
                body = b"bench feed server\n"
                self.send_response(200 if not name else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as f:
                shutil.copyfileobj(f, self.wfile, 256 * 1024)

        def log_message(self, *_args):
            pass

    return Handler


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(directory))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
