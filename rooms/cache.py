"""Room lists and anonymous pages kept in Redis (the default cache), and the event that outdates them.

Every key here carries one version token. A room going live or idle, being created, edited or deleted
(also in the admin), or a category changing replaces the token (``room_lists_changed``), so the next
request rebuilds from the database (in other web processes within ``VERSION_RECHECK_S``); keys of older
tokens are never read again and expire on their own.
What changes without such an event (viewer counts, follower counts, a new VOD, a streamer's new
display name) may be up to ``STALE_S`` + ``LOCAL_S`` seconds old in a cached list or page.

Two tiers: Redis, shared by every web process, and a small copy in each process's memory for
``LOCAL_S``, so the most requested pages do not cost even one Redis round trip per view.
"""

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

from rooms import selectors
from rooms.models import Category, Room

VERSION_KEY = "rooms:version"
VERSION_RECHECK_S = 1.0
STALE_S = 5
LOCAL_S = 1
_local = LocMemCache("rooms-cache", {"TIMEOUT": LOCAL_S, "OPTIONS": {"MAX_ENTRIES": 500}})
# Stored pages hold this in place of the CSRF token of the visitor they were rendered for (the language
# switcher is a POST form on every page); each visitor served a stored page gets their own token there.
CSRF_PLACEHOLDER = b"--csrf-token-of-the-visitor--"
_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


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
    cache.set(key, value, timeout=STALE_S)
    _local.set(key, value)


def _cached(name: str, build: Callable[[], list]) -> list:
    key = f"rooms:{name}:{_version()}"
    found = _get(key)
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
    address = hashlib.md5(request.build_absolute_uri().encode(), usedforsecurity=False).hexdigest()
    return f"rooms:page:{_version()}:{translation.get_language()}:{address}"


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


def _without_csrf_token(request: HttpRequest, content: bytes) -> bytes | None:
    """The page with its CSRF token replaced by the placeholder; None when that cannot be done safely."""
    if not request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return content  # the page used no token
    found = _CSRF_INPUT.search(content)
    if found is None:
        return None  # a token used in some other way than the form field: keep the page fresh
    stripped = content.replace(found.group(1), CSRF_PLACEHOLDER)
    if request.META["CSRF_COOKIE"].encode() in stripped:
        return None
    return stripped


def _store(key: str, request: HttpRequest, response: HttpResponse) -> None:
    if not _response_cacheable(response):
        return
    content = _without_csrf_token(request, response.content)
    if content is not None:
        _set(key, (content, dict(response.headers)))


def _stored_response(request: HttpRequest, content: bytes, headers: dict) -> HttpResponse:
    if CSRF_PLACEHOLDER in content:
        # get_token also makes the CSRF middleware send this visitor's cookie, as a fresh render would.
        content = content.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    return HttpResponse(content, headers=headers)


def anonymous_page(view: Callable) -> Callable:
    """Serve a page (or an API GET) to anonymous visitors from the cache, rendered a few seconds ago at most.

    On a DRF view, wrap what ``as_view`` returns. Signed-in users, API clients with a token
    and requests with messages to show always get a fresh response; a response setting a cookie is
    never stored, and a stored page never holds a CSRF token (see ``CSRF_PLACEHOLDER``).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not _request_cacheable(request):
            return view(request, *args, **kwargs)
        key = _page_key(request)
        found = _get(key)
        if found is not None:
            return _stored_response(request, *found)
        response = view(request, *args, **kwargs)
        if hasattr(response, "add_post_render_callback"):
            response.add_post_render_callback(lambda rendered: _store(key, request, rendered))
        else:
            _store(key, request, response)
        return response

    return wrapped
