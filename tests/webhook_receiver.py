"""A real HTTP receiver for webhook tests: http.server in a thread on 127.0.0.1, which
records each request and answers as the test scripts it (a status code, or a delay)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, tls_context=None):
        self.requests = []
        self.script = []  # what to answer next: an int status, or ("sleep", seconds)
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = receiver.script.pop(0) if receiver.script else 200
                if answer == "drip":  # a header line every half second, for ten seconds
                    with receiver.arrived:
                        receiver.requests.append((dict(self.headers), body))
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    try:
                        for _ in range(20):
                            self.wfile.write(b"X-Drip: 1\r\n")
                            self.wfile.flush()
                            time.sleep(0.5)
                    except OSError:
                        pass
                    return
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = 200
                with receiver.arrived:
                    receiver.requests.append((dict(self.headers), body))
                    receiver.arrived.notify_all()
                self.send_response(answer)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"answer " + str(answer).encode() + b" " + b"x" * 5000)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/newsroom?x=1"
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def payloads(self):
        return [json.loads(body) for _, body in self.requests]

    def events(self):
        return [(p["event"], p["story"]["uri"]) for p in self.payloads()]

    def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
        return True
