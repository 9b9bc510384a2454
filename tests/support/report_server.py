"""A report backend on loopback: keeps each report id once, counts every POST."""

import http.server
import json
import ssl
import threading


class ReportServer:
    def __init__(self, port: int = 0, *, fail_first: int = 0, tls: tuple | None = None, token: str = ""):
        self.reports: dict[str, dict] = {}
        self.posts = 0
        self.authorizations: list[str] = []
        self.fail_first = fail_first
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.posts += 1
                server.authorizations.append(self.headers.get("Authorization", ""))
                if token and self.headers.get("Authorization") != f"Bearer {token}":
                    self.send_response(401)
                elif server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_response(503)
                elif body["report_id"] in server.reports:
                    self.send_response(409)
                else:
                    server.reports[body["report_id"]] = body
                    self.send_response(201)
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

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
