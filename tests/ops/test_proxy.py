"""X-Forwarded-For and X-Forwarded-Proto, believed only from TRUSTED_PROXIES, through the project's real ASGI
application (as uvicorn serves it without its own proxy headers: streamlite/web_processes.py)."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator

from accounts.models import ActivityLog
from streamlite.asgi import application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def token_attempt(*, peer: str, headers: list[tuple[bytes, bytes]]) -> int:
    """A wrong-password POST /api/auth/token/ from ``peer``; returns the status."""
    body = json.dumps({"username": "victim", "password": "wrong"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/auth/token/",
        "raw_path": b"/api/auth/token/",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": (peer, 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def run():
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)
        return start["status"]

    return async_to_sync(run)()


def logged_address() -> str:
    return ActivityLog.objects.filter(action=ActivityLog.Action.LOGIN_FAILED).latest("created_at").ip_address


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    UserFactory(username="victim")

    status = token_attempt(peer="127.0.0.1", headers=[(b"x-forwarded-for", b"198.51.100.66")])

    assert status == 401
    assert logged_address() == "127.0.0.1"


def test_the_client_address_is_taken_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    UserFactory(username="victim")

    token_attempt(peer="10.1.2.3", headers=[(b"x-forwarded-for", b"198.51.100.66, 203.0.113.9, 10.9.9.9")])

    # The spoofable left part is ignored: the address our own proxies saw is 203.0.113.9.
    assert logged_address() == "203.0.113.9"


def test_a_trusted_list_does_not_cover_other_peers(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    UserFactory(username="victim")

    token_attempt(peer="192.0.2.10", headers=[(b"x-forwarded-for", b"198.51.100.66")])

    assert logged_address() == "192.0.2.10"


def test_web_servers_are_started_without_their_own_proxy_header_handling():
    from pathlib import Path

    from streamlite.web_processes import server_config

    assert server_config("127.0.0.1", 8000).proxy_headers is False
    root = Path(__file__).resolve().parents[2]
    for path in ("scripts/run.sh", "Dockerfile"):
        text = (root / path).read_text()
        assert "-m streamlite.web_processes" in text and "uvicorn --" not in text, path
