"""A local HTTP server standing in for an app's callback URL: each POST is handed to the
test's `accept(path, query, headers, body)`, which returns (status, body); what it accepted is
queued for the test to wait on."""

import queue
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, accept):
        self.accept = accept
        self.received = queue.Queue()
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
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
