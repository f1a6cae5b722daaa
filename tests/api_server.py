"""The HTTP scaffolding our stand-in API servers share: JSON POSTs to one route, on 127.0.0.1, in a thread.

A server supplies `respond(path, headers, body) -> (status, payload)`; status "drop" closes the connection unanswered.
`StandIn` holds what every such server knows: its port, the URLs each SDK is given, and the arrival count.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StandIn:
    port: int = 0
    _arrived: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def mistral_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arrival(self) -> int:
        """This request's number: its arrival order (its reply may block without blocking others)."""
        with self._lock:
            number = self._arrived
            self._arrived += 1
        return number


Respond = Callable[[str, dict[str, str], dict[str, Any]], tuple["int | str", dict[str, Any]]]


def _handler(route: str, respond: Respond, retry_after: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            if not self.path.rstrip("/").endswith(route):
                status, payload = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                status, payload = respond(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if status == "drop":
                self.close_connection = True
                return
            data = json.dumps(payload).encode()
            self.send_response(int(status))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if status == 429:
                self.send_header("retry-after", retry_after)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client killed mid-request is expected
        pass


@contextmanager
def serving(route: str, respond: Respond, retry_after: str = "0") -> Iterator[int]:
    """Serve POSTs to paths ending in `route` until the block ends; yields the port."""
    httpd = _Quiet(("127.0.0.1", 0), _handler(route, respond, retry_after))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
