"""Small HTTP servers on 127.0.0.1 for the AWS endpoints moto does not serve (the console
federation endpoint, IAM Identity Center's portal) and for endpoints that are not AWS at all (a
captive portal in place of STS). `HttpEndpoint` answers every request with what `respond`
returns; `JsonEndpoint`, GET only, with the JSON body `answer(url, headers)` returns."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.harness import ports


class HttpEndpoint:
    def __init__(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, kind, data, *more = endpoint.respond(self.command, urlsplit(self.path),
                                                             self.headers, body)
                self.send_response(status)
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ports.fresh(lambda: ThreadingHTTPServer(("127.0.0.1", 0), Handler),
                                  lambda server: server.server_port,
                                  lambda server: server.server_close())
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, method: str, url, headers, body: bytes) -> tuple[int, str, bytes]:
        """(status, content type, body[, more headers]) for one request."""
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonEndpoint(HttpEndpoint):
    def respond(self, method, url, headers, body):
        if method != "GET":
            return 405, "application/json", b'{"message": "GET only"}'
        status, answer = self.answer(url, headers)
        return status, "application/json", json.dumps(answer).encode()

    def answer(self, url, headers) -> tuple[int, dict]:
        raise NotImplementedError
