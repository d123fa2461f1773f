"""A real HTTP receiver of webhooks for the tests: ``http.server`` on 127.0.0.1 in a thread,
checking each message's signature with the Standard Webhooks reference library
(``standardwebhooks`` from PyPI, not our code) and deduplicating by ``webhook-id``, as a
receiver should."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    secret: str
    answer: int = 204
    # webhook-id -> the verified JSON body; every POST, verified or not, in ``posts``.
    messages: dict[str, Any] = field(default_factory=dict)
    posts: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Receiver:
    def __init__(self, received: Received, port: int = 0) -> None:
        self.received = received
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(outer.received.secret).verify(body, headers)
                except WebhookVerificationError as exc:
                    with outer.received.lock:
                        outer.received.refused.append(str(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                with outer.received.lock:
                    outer.received.posts.append(headers)
                    outer.received.messages.setdefault(headers["webhook-id"], payload)
                self.send_response(outer.received.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def body_of(delivery: Any) -> dict[str, Any]:
    return json.loads(delivery.body)
