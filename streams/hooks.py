"""nginx-rtmp's HTTP callbacks (DESIGN §3): thin views over the stream services.

nginx answers the encoder from the status code: 2xx goes on, 3xx redirects, anything else drops it.
"""

import asyncio
import hmac
import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.http.response import HttpResponseRedirectBase
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from streamlite.http_handler import SiteHandler
from streams import selectors, services

logger = logging.getLogger(__name__)

CLIENT_ID_MAX_DIGITS = 20


class RtmpRedirect(HttpResponseRedirectBase):
    """on_publish's answer that makes nginx relay the stream into the HLS application."""

    allowed_schemes = ["rtmp"]
    status_code = 302


def hook_secret_ok(given: str) -> bool:
    return hmac.compare_digest(given.encode(), settings.RTMP_HOOK_SECRET.encode())


def _secret_ok(request: HttpRequest) -> bool:
    return hook_secret_ok(request.GET.get("secret", ""))


def client_id_valid(client_id: str) -> bool:
    """nginx numbers its clients; anything but a plain number is not from nginx."""
    return client_id.isascii() and client_id.isdigit() and len(client_id) <= CLIENT_ID_MAX_DIGITS


def _client_id(request: HttpRequest) -> str | None:
    client_id = request.POST.get("clientid", "")
    return client_id if client_id_valid(client_id) else None


def _hook(view):
    """Secret first: a wrong or missing one changes nothing; then a well-formed ingest client id."""

    @csrf_exempt
    @require_POST
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not _secret_ok(request):
            logger.warning("RTMP hook with a wrong secret from %s", request.META.get("REMOTE_ADDR"))
            return HttpResponseForbidden("wrong hook secret")
        client_id = _client_id(request)
        if client_id is None:
            return HttpResponseBadRequest("clientid must be a number")
        return view(request, client_id)

    return wrapper


def encoder_addr(*, posted: str, remote: str) -> str:
    """nginx sends the encoder's address; without a valid one (a direct call) the caller's own counts."""
    try:
        # A dotted quad already in its usual form, as nginx sends IPv4 addresses: no ipaddress object needed.
        if socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, posted)) == posted:
            return posted
    except (OSError, ValueError):
        pass
    try:
        return str(ipaddress.ip_address(posted))
    except ValueError:
        return remote


def _encoder_addr(request: HttpRequest) -> str:
    return encoder_addr(posted=request.POST.get("addr", ""), remote=request.META.get("REMOTE_ADDR", ""))


def hls_relay_url(public_name: str) -> str:
    return f"rtmp://127.0.0.1:{settings.RTMP_PORT}/{settings.RTMP_HLS_APP}/{public_name}"


@_hook
def rtmp_publish(request: HttpRequest, client_id: str) -> HttpResponse:
    try:
        stream = services.stream_publish(
            secret=request.POST.get("name", ""), client_id=client_id, addr=_encoder_addr(request)
        )
    except services.PublishRefused as refused:
        return HttpResponseForbidden(str(refused.refusal.label) if refused.refusal else "publish refused")
    return RtmpRedirect(hls_relay_url(stream.room.public_name))


def _live_stream(request: HttpRequest, client_id: str):
    # Revoked keys count: the publisher a key reset drops still reports its end under the old key.
    key = selectors.stream_key_by_secret(secret=request.POST.get("name", ""), include_revoked=True)
    if key is None:
        return None
    return selectors.stream_live_of_client(room_id=key.room_id, client_id=client_id)


@_hook
def rtmp_publish_done(request: HttpRequest, client_id: str) -> HttpResponse:
    stream = _live_stream(request, client_id)
    if stream is not None:
        services.stream_end(stream=stream, reason="publish_done")
    return HttpResponse("ok")


@_hook
def rtmp_update(request: HttpRequest, client_id: str) -> HttpResponse:
    stream = _live_stream(request, client_id)
    if stream is not None:
        services.stream_heartbeat(stream=stream)
    return HttpResponse("ok")


@_hook
def rtmp_record_done(request: HttpRequest, client_id: str) -> HttpResponse:
    # Recorded in the HLS application, so the name is the room's public name (see the nginx template).
    path = request.POST.get("path", "")
    if not services.recording_path_allowed(path=path):
        logger.warning("record_done with a path outside RECORDINGS_ROOT")
        return HttpResponseBadRequest("path outside the recordings folder")
    stream = selectors.stream_latest_of_public_name(public_name=request.POST.get("name", ""))
    if stream is not None:
        services.stream_recorded(stream=stream, path=path)
    return HttpResponse("ok")


# Hook requests served at once by one web process: enough to overlap their database round trips.
HOOK_THREADS = 8


class HookHandler(SiteHandler):
    """Django for the hook URLs alone, with only settings.RTMP_HOOK_MIDDLEWARE, in one thread hop per
    request as the site's handler.

    An ingest restarting sends every publisher's on_publish at once, and nginx holds each encoder until
    its answer: the site's middleware stack (sessions, auth, CSRF, messages, languages) would add CPU to
    each of them for nothing a hook reads."""

    def __init__(self):
        super().__init__()
        # Unlike the site's handler, a burst waits for one of a few threads kept for the hooks rather than
        # starting more: fifty threads would fight for the interpreter lock and the database pool.
        # Each request still runs on one thread.
        self._threads: asyncio.Queue[ThreadPoolExecutor] = asyncio.Queue()
        for _ in range(HOOK_THREADS):
            self._threads.put_nowait(ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtmp-hook"))

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.RTMP_HOOK_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler

    async def __call__(self, scope, receive, send):
        thread = await self._threads.get()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self._threads.put_nowait(thread)


def rtmp_hooks_apart(site_app):
    """The site's HTTP application with the hook URLs served by a HookHandler."""
    hooks_app = HookHandler()
    prefix = reverse("rtmp_hooks:publish").removesuffix("publish")

    async def application(scope, receive, send):
        app = hooks_app if scope["path"].startswith(prefix) else site_app
        await app(scope, receive, send)

    return application
