import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.chat.conftest import chat_redis_flushed, mongo_archive, outbox_add  # noqa: F401


class Receiver:
    """A real HTTP server standing in for an integrator's webhook endpoint: it records each request,
    checks its signature with the endpoint's secret, and answers as the test asks."""

    def __init__(self):
        self.requests: list[dict] = []
        self.secret = ""
        self.status = 200
        self.hang_s = 0.0
        self.redirect_to = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(body),
                        "signed": hmac.compare_digest(
                            self.headers.get("X-StreamLite-Signature", ""), expected
                        ),
                    }
                )
                if receiver.hang_s:
                    time.sleep(receiver.hang_s)
                self.send_response(302 if receiver.redirect_to else receiver.status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def paths(self) -> list[str]:
        return [request["path"] for request in self.requests]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def celery_eager_retries(celery_eager):
    """Eager tasks whose retries run at once: Celery's eager apply replays a retry only when it does not
    propagate it (the countdown is not waited)."""
    from streamlite.celery import app

    app.conf.task_eager_propagates = False
    yield


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True


@pytest.fixture
def endpoint_for(receiver, allow_loopback):
    """Register an endpoint through the service (the API's own path) and teach the receiver its secret."""
    from webhooks.services import endpoint_create

    def make(owner, events, **kwargs):
        endpoint = endpoint_create(owner=owner, url=receiver.url, events=events, **kwargs)
        receiver.secret = endpoint.secret
        return endpoint

    return make
