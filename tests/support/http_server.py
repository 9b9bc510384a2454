"""A static file server on loopback, as a catalog's publisher would run one: GET with Range.

`cut_after=N` makes the next full-file transfer stop after N bytes and drop the
connection (once), as a flaky network does; `ignore_range` answers every request
with the whole file (200), as some servers do. Every request's path and Range
header is kept, so tests see what the station asked for.
"""

import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)\Z")


class FileServer:
    def __init__(self, folder: Path, *, cut_after: int | None = None, ignore_range: bool = False):
        self.folder = Path(folder).resolve()
        self.cut_after = cut_after
        self.ignore_range = ignore_range
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = urlsplit(self.path).path
                server.requests.append((path, self.headers.get("Range")))
                file = (server.folder / unquote(path).lstrip("/")).resolve()
                if not file.is_relative_to(server.folder) or not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start, end = 0, len(data)
                match = _RANGE.match(self.headers.get("Range") or "")
                if match and not server.ignore_range:
                    start = int(match.group(1))
                    end = min(int(match.group(2)) + 1, len(data)) if match.group(2) else len(data)
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(end - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                body = data[start:end]
                if server.cut_after is not None and start == 0 and len(body) > server.cut_after:
                    cut, server.cut_after = server.cut_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return self.base + name

    def ranges(self, name: str) -> list[str | None]:
        """The Range header of every request for `name`, in order (None: the whole file)."""
        return [header for path, header in self.requests if path == "/" + name]

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
