"""A report backend on loopback: keeps each report id once, counts every POST.

With `hold_first`, the first POST waits (unanswered) until `release()`, so a test can
act while a deliverer is mid-send; `first_post_arrived` says when that moment has come."""

import http.server
import json
import ssl
import threading


class ReportServer:
    def __init__(self, port: int = 0, *, fail_first: int = 0, tls: tuple | None = None, token: str = "",
                 hold_first: bool = False):
        self.reports: dict[str, dict] = {}
        self.posts = 0
        self.posted_ids: list[str] = []
        self.first_post_arrived = threading.Event()
        self._released = threading.Event()
        if not hold_first:
            self._released.set()
        counting = threading.Lock()
        self.authorizations: list[str] = []
        self.fail_first = fail_first
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with counting:  # the server answers each request in a thread of its own
                    first = not server.posts
                    server.posts += 1
                    server.posted_ids.append(body["report_id"])
                    server.authorizations.append(self.headers.get("Authorization", ""))
                if first:
                    server.first_post_arrived.set()
                    server._released.wait()
                if token and self.headers.get("Authorization") != f"Bearer {token}":
                    self.send_response(401)
                elif server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_response(503)
                else:
                    with counting:
                        known = body["report_id"] in server.reports
                        server.reports.setdefault(body["report_id"], body)
                    self.send_response(409 if known else 201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/reports"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def release(self) -> None:
        self._released.set()

    def __exit__(self, *exc):
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()
