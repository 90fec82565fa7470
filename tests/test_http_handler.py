"""The site's HTTP requests through the real ASGI application (streamlite.asgi, streamlite.http_handler): the
middleware stack and the view run in one call on a thread kept for later requests, and the stack still does
all its work (security headers, CSRF, sessions, log-in, request id)."""

import re
import threading
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator
from django.core import signals
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import path
from django.utils.deprecation import MiddlewareMixin

from streamlite.asgi import application
from streamlite.http_handler import SiteHandler
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-enough-password-1"


def asgi_request(app, method: str, url: str, *, body: bytes = b"", headers=()) -> tuple[int, dict, bytes]:
    path_part, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_part,
        "raw_path": path_part.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def run():
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(timeout=10)
        content = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(timeout=10)
        headers_seen: dict[str, list[str]] = {}
        for name, value in start["headers"]:
            headers_seen.setdefault(name.decode().lower(), []).append(value.decode())
        return start["status"], headers_seen, content

    return async_to_sync(run)()


def cookies_of(headers: dict) -> dict[str, str]:
    jar = SimpleCookie()
    for line in headers.get("set-cookie", []):
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


def test_log_in_through_the_asgi_application_keeps_csrf_sessions_and_the_security_headers():
    user = UserFactory(password=PASSWORD)
    status, headers, body = asgi_request(application, "GET", "/accounts/login/")
    assert status == 200
    assert "default-src 'self'" in headers["content-security-policy"][0]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"][0])
    csrf_cookie = cookies_of(headers)["csrftoken"]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)[1]

    def form(password: str) -> bytes:
        return f"username={user.username}&password={password}&csrfmiddlewaretoken={token.decode()}".encode()

    post_headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"cookie", f"csrftoken={csrf_cookie}".encode()),
        (b"referer", b"http://127.0.0.1/accounts/login/"),
    ]
    status, _, _ = asgi_request(
        application, "POST", "/accounts/login/", body=form("wrong"), headers=post_headers
    )
    assert status == 200  # a wrong password: the form again, no session
    status, headers, _ = asgi_request(
        application, "POST", "/accounts/login/", body=form(PASSWORD), headers=post_headers
    )
    assert status == 302
    session = cookies_of(headers)["sessionid"]

    status, _, body = asgi_request(
        application, "GET", "/dashboard/", headers=[(b"cookie", f"sessionid={session}".encode())]
    )
    assert status == 200
    assert user.username.encode() in body


def test_a_post_without_the_csrf_token_is_refused():
    status, _, _ = asgi_request(
        application,
        "POST",
        "/accounts/login/",
        body=b"username=x&password=y",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert status == 403


@pytest.fixture
def request_signals():
    """request_started and request_finished as they are sent (Django's own receivers return the
    request's database connection to the pool on request_finished)."""
    sent: list[str] = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield sent
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_a_page_and_a_streamed_static_file_each_start_and_finish_once(request_signals):
    status, _, body = asgi_request(application, "GET", "/")
    assert status == 200 and b"<html" in body
    status, headers, body = asgi_request(application, "GET", static("js/chat.js"))
    assert status == 200
    assert body == (Path(__file__).resolve().parent.parent / "static/js/chat.js").read_bytes()
    assert "immutable" in headers["cache-control"][0]
    assert request_signals == ["started", "finished"] * 2


THREADS_SEEN: list[tuple[str, int]] = []


class ThreadRecorder(MiddlewareMixin):
    def process_request(self, request):
        THREADS_SEEN.append(("middleware", threading.get_ident()))


def thread_view(request):
    THREADS_SEEN.append(("view", threading.get_ident()))
    return HttpResponse(threading.current_thread().name)


urlpatterns = [path("thread/", thread_view)]


def test_the_stack_and_the_view_run_on_one_thread_kept_for_the_next_requests(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.ThreadRecorder"]
    handler = SiteHandler()
    THREADS_SEEN.clear()
    names = set()
    for _ in range(5):
        status, _, body = asgi_request(handler, "GET", "/thread/")
        assert status == 200
        names.add(body.decode())
    # Requests one after the other: one thread served them all (Django's own handler starts one each).
    assert len(names) == 1
    assert len({ident for _, ident in THREADS_SEEN}) == 1
    assert [kind for kind, _ in THREADS_SEEN] == ["middleware", "view"] * 5
