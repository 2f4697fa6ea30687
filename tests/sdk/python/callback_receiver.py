"""A local HTTP server standing in for an app's callback URL: each POST is handed to the
test's `accept(path, query, headers, body)`, which returns (status, body), and each GET (a
vendor's check of the URL) too, with `body` None; what it accepted is queued for the test to
wait on."""

import pathlib
import queue
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from roster_harness import SEEDS, start, temporary_directory


def roster_with_callbacks(seed, anchor, keys):
    """A roster on tests/sdk/seeds/`seed` with the seed keys `keys` (lines of TOML) added after
    the first `anchor` line, which opens the space that sends callbacks."""
    text = (SEEDS / seed).read_text().replace(anchor, anchor + keys, 1)
    path = pathlib.Path(temporary_directory("roster-callbacks-")) / seed
    path.write_text(text)
    return start(str(path))


class Receiver:
    def __init__(self, accept):
        self.accept = accept
        self.received = queue.Queue()
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.do_POST(body=None)

            def do_POST(self, body=b""):
                if body is not None:
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                receiver.requests.append((parsed.path, query, dict(self.headers), body))
                status, answer = receiver.accept(parsed.path, query, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=10):
        """The next event the receiver accepted."""
        return self.received.get(timeout=timeout)

    def quiet(self, seconds=1.0):
        """Nothing more arrives within `seconds`."""
        time.sleep(seconds)
        return self.received.empty()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
