"""Room lists and anonymous pages kept in Redis (the default cache), and the event that outdates them.

Every key here carries one version token. A room going live or idle, being created, edited or deleted
(also in the admin), or a category changing replaces the token (``room_lists_changed``), so the next
request rebuilds from the database (in other web processes within ``VERSION_RECHECK_S``); keys of older
tokens are never read again and expire on their own.
What changes without such an event (viewer counts, follower counts, a new VOD, a streamer's new
display name) may be up to ``STALE_S`` + ``LOCAL_S`` seconds old in a cached list, and a page a render
longer: once a page is ``STALE_S`` old, the first request in any process renders it again while the
others keep serving the old one, rather than every request of that moment rendering it at once.
Pages are kept gzipped too, for the visitors whose browsers accept it.

Two tiers: Redis, shared by every web process, and a small copy in each process's memory for
``LOCAL_S``, so the most requested pages do not cost even one Redis round trip per view.
"""

import gzip
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import NamedTuple

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile
from redis.exceptions import RedisError

from rooms import selectors
from rooms.models import Category, Room

logger = logging.getLogger(__name__)

VERSION_KEY = "rooms:version"
VERSION_RECHECK_S = 1.0
STALE_S = 5
LOCAL_S = 1
# A page due again is served as it was for up to this long while one request renders it anew.
KEPT_STALE_S = 60
# A claim to render a page again that is never let go (the render failed or was not kept) lapses then.
REFRESH_CLAIM_S = 10
GZIP_MIN_BYTES = 1024
_ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")  # as django.middleware.gzip reads Accept-Encoding
_local = LocMemCache("rooms-cache", {"TIMEOUT": LOCAL_S, "OPTIONS": {"MAX_ENTRIES": 500}})
# This process's copies of pages for LOCAL_S, kept as they are: a Page is immutable, so unlike the
# LocMemCache of the lists (which pickles) a hit costs a dict lookup. key -> (kept until, page).
_local_pages: dict[str, tuple[float, "Page"]] = {}
LOCAL_PAGES_MAX = 500


_local_version: tuple[float, str] = (0.0, "")


def _version() -> str:
    # Each request needs the version, so a process keeps it VERSION_RECHECK_S before asking Redis again:
    # one Redis round trip per page instead of two, for at most that delay after an event elsewhere.
    checked_at, version = _local_version
    if time.monotonic() - checked_at < VERSION_RECHECK_S:
        return version
    version = cache.get(VERSION_KEY)
    if version is None:
        # add, not set: of two processes starting a version at once, both must end up using the same one.
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    _remember_version(version)
    return version


def _remember_version(version: str) -> None:
    global _local_version
    _local_version = (time.monotonic(), version)


def local_copies_forget() -> None:
    """Drop this process's copies, e.g. when a test empties Redis under them."""
    global _local_version
    _local.clear()
    _local_pages.clear()
    _local_version = (0.0, "")


def room_lists_changed() -> None:
    """Outdate every cached room list and page at once (other processes notice within a second)."""
    # A fresh random token rather than a counter: a counter lost with Redis's memory could restart at a
    # value whose old keys are still stored.
    version = uuid.uuid4().hex
    cache.set(VERSION_KEY, version, timeout=None)
    _remember_version(version)


def _get(key: str):
    found = _local.get(key)
    if found is None:
        found = cache.get(key)
        if found is not None:
            _local.set(key, found)
    return found


def _set(key: str, value) -> None:
    try:
        cache.set(key, value, timeout=STALE_S)
    except RedisError:
        logger.warning("room cache unavailable, %s not kept", key)
        return
    _local.set(key, value)


def _cached(name: str, build: Callable[[], list]) -> list:
    try:
        key = f"rooms:{name}:{_version()}"
        found = _get(key)
    except RedisError:
        logger.warning("room list cache unavailable, reading %s from the database", name)
        return build()
    if found is None:
        found = build()
        _set(key, found)
    return found


def live_rooms() -> list[Room]:
    """The live rooms as lists show them (owner, category, ``live_started_at``), most watched first."""
    return _cached("live", lambda: list(selectors.rooms_filtered(status=Room.Status.LIVE)))


def categories() -> list[Category]:
    """The categories in menu order, each with ``room_count`` and ``live_count``."""
    return _cached("categories", lambda: list(selectors.categories_listed()))


@receiver([post_save, post_delete], sender=Room)
@receiver([post_save, post_delete], sender=Category)
def _room_or_category_saved(**kwargs) -> None:
    # Status changes go through QuerySet.update (no signal): streams.services calls room_lists_changed.
    transaction.on_commit(room_lists_changed, robust=True)


def _page_key(request: HttpRequest) -> str:
    # The language is in the key: the same URL renders in the visitor's language (LocaleMiddleware).
    # The address as the request gave it (build_absolute_uri would quote and rebuild it on every view).
    address = f"{request.scheme}://{request.get_host()}{request.path}?{request.META.get('QUERY_STRING', '')}"
    address = hashlib.md5(address.encode(errors="backslashreplace"), usedforsecurity=False).hexdigest()
    return f"rooms:page:{_version()}:{translation.get_language()}:{address}"


class Page(NamedTuple):
    """A stored anonymous page: its body, also gzipped when worth it, and when it is due to be rendered again."""

    content: bytes
    gzipped: bytes | None
    headers: tuple[tuple[str, str], ...]
    fresh_until: float

    def response(self, request: HttpRequest) -> HttpResponse:
        # A gzipped page's headers say Vary: Accept-Encoding already (_store).
        if self.gzipped is None or not _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return HttpResponse(self.content, headers=dict(self.headers))
        response = HttpResponse(self.gzipped, headers=dict(self.headers))
        response["Content-Encoding"] = "gzip"
        return response


def _page_get(key: str) -> Page | None:
    kept = _local_pages.get(key)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    page = cache.get(key)
    if page is not None:
        _page_keep_local(key, page)
    return page


def _page_keep_local(key: str, page: Page) -> None:
    if len(_local_pages) >= LOCAL_PAGES_MAX:
        _local_pages.clear()  # many addresses at once (a crawler): start again rather than track age
    _local_pages[key] = (time.monotonic() + LOCAL_S, page)


def _gzipped(response: HttpResponse) -> bytes | None:
    # Compressed once here rather than per request: cached pages carry no secret (no CSRF token), so the
    # compression cannot leak one (BREACH). Small bodies are not worth a Content-Encoding.
    if len(response.content) < GZIP_MIN_BYTES or response.has_header("Content-Encoding"):
        return None
    return gzip.compress(response.content, compresslevel=6, mtime=0)


def _request_cacheable(request: HttpRequest) -> bool:
    # Anything that could make the page personal (a user, a token, a pending message) keeps it uncached.
    return (
        request.method in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in request.META
        and not request.user.is_authenticated
        and not len(get_messages(request))
    )


def _response_cacheable(response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
    )


def _store(key: str, request: HttpRequest, response: HttpResponse) -> None:
    # A CSRF token in the page (or its cookie) belongs to one visitor: such a response is never kept.
    if not _response_cacheable(response) or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return
    gzipped = _gzipped(response)
    if gzipped is not None:
        patch_vary_headers(response, ("Accept-Encoding",))  # this response too: a later copy may be gzipped
    # The length is the middleware's to set: it differs between the plain and the gzipped body.
    headers = tuple((name, value) for name, value in response.headers.items() if name != "Content-Length")
    page = Page(response.content, gzipped, headers, time.time() + STALE_S)
    try:
        cache.set(key, page, timeout=STALE_S + KEPT_STALE_S)
        cache.delete(f"{key}:refresh")  # the next time it is stale, the next request renders it
    except RedisError:
        logger.warning("page cache unavailable, %s not kept", request.path)
        return
    _page_keep_local(key, page)


def _refresh_claimed(key: str) -> bool:
    """Whether this request renders the stale page at ``key`` again: the first to ask in any process does,
    the others keep serving the stale copy meanwhile instead of all rendering it at once."""
    try:
        return cache.add(f"{key}:refresh", 1, timeout=REFRESH_CLAIM_S)
    except RedisError:
        return False


def anonymous_page(view: Callable) -> Callable:
    """Serve a page (or an API GET) to anonymous visitors from the cache, rendered a few seconds ago at most.

    On a DRF view, wrap what ``as_view`` returns. Signed-in users, API clients with a token
    and requests with messages to show always get a fresh response; a response setting a cookie or
    carrying a CSRF token is never stored.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not _request_cacheable(request):
            return view(request, *args, **kwargs)
        try:
            key = _page_key(request)
            found = _page_get(key)
            if found is not None and found.fresh_until <= time.time():
                if _refresh_claimed(key):
                    found = None  # this request renders it again
                else:
                    # Another request renders it: this process serves the stale copy meanwhile, for LOCAL_S.
                    _page_keep_local(key, found._replace(fresh_until=time.time() + LOCAL_S))
        except RedisError:
            # Pages keep working without Redis, only slower.
            logger.warning("page cache unavailable, rendering %s", request.path)
            return view(request, *args, **kwargs)
        if found is not None:
            return found.response(request)
        response = view(request, *args, **kwargs)
        if hasattr(response, "add_post_render_callback"):
            response.add_post_render_callback(lambda rendered: _store(key, request, rendered))
        else:
            _store(key, request, response)
        return response

    return wrapped
