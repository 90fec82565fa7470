"""on_publish's common case answered before Django's request path; the hook contract is unchanged.

An ingest restarting sends every encoder's on_publish at once, and nginx holds each encoder until its
answer (issue 3: p99 ≤ 50 ms with 50 at once, on two cores). Django's request path spends about 10 ms of
CPU on a publish; this app reads the request as the server hands it over, checks what needs no database
(hook secret, client id, key shape) and lets PostgreSQL's streams_publish() (streams/migrations/0005)
check the address and open the stream in one round trip, exactly as services.stream_publish would. Anything else — a wrong secret or key, a refusal, a stale stream to
replace, an unexpected error — goes to the Django hook view with the same request, so each refusal and
fault has one implementation (streams.hooks, streams.services).

The follow-ups (broadcast, cached lists, followers' alerts) leave once the stream is committed, like
the view's on_commit enqueue, but one Celery task per burst rather than one per publish.
"""

import asyncio
import gc
import logging
import time
from functools import partial
from urllib.parse import parse_qs

import psycopg
import psycopg_pool
from django.conf import settings
from django.db import close_old_connections, connections

from accounts.services import SITE_SETTINGS_PK
from rooms.models import stream_secret_digest
from streamlite.logs import log_context_reset, log_context_set, request_id_from
from streamlite.middleware import REQUEST_ID_HEADER, request_finished
from streams.hooks import client_id_valid, encoder_addr, hls_relay_url, hook_secret_ok
from streams.selectors import STREAM_KEY_SHAPE

logger = logging.getLogger(__name__)

ROUTE = "rtmp_hooks:publish"
# nginx's form is a few hundred bytes; a larger body is left to Django's own limits.
MAX_BODY_BYTES = 16 * 1024
# Connections of one web process for the publish path: PostgreSQL gains nothing from more publishes at
# once than it has cores, and a burst queues here for a few milliseconds instead.
DB_CONNECTIONS = 4
DB_WAIT_S = 2.0
# Log lines, metrics and follow-ups wait until the process has no publish in flight, at most this long.
AFTER_BURST_MAX_WAIT_S = 0.2
AFTER_BURST_POLL_S = 0.01
# Options of Django's database settings that are Django's own, not psycopg's.
DJANGO_ONLY_OPTIONS = {"pool", "server_side_binding", "isolation_level", "assume_role"}
PUBLISH_SQL = "SELECT outcome, stream_id, room_id, owner_id, public_name FROM streams_publish(%s, %s, %s, %s)"


def fast_path_possible() -> bool:
    """The plain case needs PostgreSQL (the function)."""
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def database_params() -> dict:
    """psycopg's connection arguments for Django's default database, in autocommit."""
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": db["PORT"],
    }
    params = {name: value for name, value in params.items() if value not in ("", None)}
    options = {
        name: value for name, value in db.get("OPTIONS", {}).items() if name not in DJANGO_ONLY_OPTIONS
    }
    return {**params, **options, "autocommit": True}


async def _read_body(receive) -> tuple[bytes, bool, bool]:
    """The request body up to MAX_BODY_BYTES: (body, complete, disconnected)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body, False, True
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, True, False
        if len(body) > MAX_BODY_BYTES:
            return body, False, False


def _replaying(body: bytes, more: bool, receive):
    """A receive channel that hands the body already read to the next app, then the rest of the request."""
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay


def _last(values: dict[str, list[str]], name: str) -> str:
    # The last value, as Django's QueryDict.get gives it.
    return values.get(name, [""])[-1]


def _enqueue_followups(stream_ids: list[int]) -> None:
    from streams.tasks import stream_live_followups_batch_task

    try:
        stream_live_followups_batch_task.delay(stream_ids=stream_ids)
    except Exception:  # a broker hiccup must not be lost silently, nor kill the loop's callback
        logger.exception("follow-ups of streams %s not enqueued", stream_ids)
    finally:
        close_old_connections()  # an eager task (tests) used this thread's database connection


class AfterBurst:
    """What a publish leaves for once this process has no publish in flight (its burst answered), at most
    AFTER_BURST_MAX_WAIT_S later: its access line and metrics, and the enqueue of the follow-ups (one task
    for all the streams opened meanwhile). Every answer of a burst thus leaves before this work."""

    def __init__(self, *, busy):
        self._busy = busy
        self._calls: list[tuple[dict, object]] = []
        self._stream_ids: list[int] = []
        self._first_at = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Future] = set()

    def add(self, call, *, context: dict) -> None:
        """``call`` runs with ``context`` as the log context."""
        self._calls.append((context, call))
        self._arm()

    def add_followups(self, stream_id: int) -> None:
        self._stream_ids.append(stream_id)
        self._arm()

    def _arm(self) -> None:
        if self._handle is None:
            self._first_at = time.monotonic()
            self._schedule()

    def _schedule(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(AFTER_BURST_POLL_S, self._flush)

    def _flush(self) -> None:
        if self._busy() and time.monotonic() - self._first_at < AFTER_BURST_MAX_WAIT_S:
            self._schedule()
            return
        calls, stream_ids = self._calls, self._stream_ids
        self._calls, self._stream_ids, self._handle = [], [], None
        for context, call in calls:
            token = log_context_set(context)
            try:
                call()
            except Exception:  # an accounting slip must not stop the others, nor the loop
                logger.exception("after-publish work failed")
            finally:
                log_context_reset(token)
        if stream_ids:
            future = asyncio.get_running_loop().run_in_executor(None, _enqueue_followups, stream_ids)
            self._running.add(future)
            future.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        """Wait until everything added so far is done and the follow-ups enqueued."""
        while self._handle is not None or self._running:
            await asyncio.sleep(AFTER_BURST_POLL_S)


class PublishApp:
    """ASGI app for the on_publish URL; ``fallback`` (the hooks' Django handler) serves what it leaves."""

    def __init__(self, *, fallback):
        self.fallback = fallback
        self._fast_path = fast_path_possible()
        self._in_flight = 0
        self._gc_was_enabled = True
        self.after_burst = AfterBurst(busy=lambda: self._in_flight > 0)
        self._loop = None
        self._ready: asyncio.Future | None = None
        self._pool: psycopg_pool.AsyncConnectionPool | None = None

    async def __call__(self, scope, receive, send):
        if scope["method"] != "POST" or not self._fast_path:
            await self.fallback(scope, receive, send)
            return
        started = time.perf_counter()
        self._burst_begins()
        try:
            body, complete, disconnected = await _read_body(receive)
            if disconnected:
                return
            opened = await self._open(scope, body) if complete else None
            if opened is None:
                await self.fallback(scope, _replaying(body, not complete, receive), send)
                return
            await self._answer(scope, send, opened, started)
        finally:
            self._burst_ends()

    def _burst_begins(self) -> None:
        # No garbage collection while nginx waits for this process: a young collection of the garbage the
        # site's other requests left (Django's request objects are cyclic) took 80-190 ms here, and all the
        # publishes of the moment waited behind it. It runs as soon as the burst is answered.
        if self._in_flight == 0:
            self._gc_was_enabled = gc.isenabled()
            gc.disable()
        self._in_flight += 1

    def _burst_ends(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._gc_was_enabled:
            gc.enable()

    async def _answer(self, scope, send, opened: tuple, started: float) -> None:
        outcome, stream_id, room_id, _owner_id, public_name = opened
        if outcome == "started":
            # Committed whether or not nginx still reads the answer, so its follow-ups go in any case.
            self.after_burst.add_followups(stream_id)
        request_id = request_id_from(dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1"))
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [
                    (b"location", hls_relay_url(public_name).encode()),
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"0"),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        # The access line carries the stream and room; the activity row is the record of going live.
        finished = partial(
            request_finished,
            method="POST",
            path=scope["path"],
            route=ROUTE,
            status=302,
            seconds=time.perf_counter() - started,
        )
        self.after_burst.add(
            finished, context={"request_id": request_id, "stream_id": stream_id, "room_id": room_id}
        )

    async def _open(self, scope, body: bytes) -> tuple | None:
        """streams_publish()'s row when it opened (or re-found) the stream; None leaves it to the view."""
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if not content_type.startswith(b"application/x-www-form-urlencoded"):
            return None  # Django reads no form from it either
        try:
            query = parse_qs(scope["query_string"].decode(), keep_blank_values=True, errors="strict")
            form = parse_qs(body.decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return None
        secret, client_id = _last(form, "name"), _last(form, "clientid")
        if not (
            hook_secret_ok(_last(query, "secret"))
            and client_id_valid(client_id)
            and STREAM_KEY_SHAPE.fullmatch(secret)
        ):
            return None
        client = scope.get("client") or ("", 0)
        addr = encoder_addr(posted=_last(form, "addr"), remote=client[0])
        try:
            await self._resources()
            # getconn/putconn rather than the connection() context: in autocommit there is no transaction
            # to close, and the context's commit step cost as much CPU as the rest of the checkout.
            conn = await self._pool.getconn(timeout=DB_WAIT_S)
            try:
                cursor = await conn.execute(
                    PUBLISH_SQL, (stream_secret_digest(secret), client_id, addr, SITE_SETTINGS_PK)
                )
                row = await cursor.fetchone()
            finally:
                await self._pool.putconn(conn)
        except (psycopg.Error, OSError) as error:
            logger.warning("publish fast path unavailable (%s): the hook view decides", type(error).__name__)
            return None
        return row if row is not None and row[0] in ("started", "open") else None

    async def _resources(self) -> None:
        """The process's database pool, made in the loop that serves (one per process; a test running the
        app in a new loop gets a new one)."""
        loop = asyncio.get_running_loop()
        failed = (
            self._ready is not None
            and self._ready.done()
            and (self._ready.cancelled() or self._ready.exception() is not None)
        )
        if self._loop is not loop or failed:
            self._loop = loop
            self._ready = loop.create_task(self._connect())
        if not self._ready.done():  # only the first requests wait; shielded, so their cancelling spares it
            await asyncio.shield(self._ready)
        self._ready.result()

    async def _connect(self) -> None:
        self._pool = psycopg_pool.AsyncConnectionPool(
            kwargs=database_params(), min_size=1, max_size=DB_CONNECTIONS, open=False, name="rtmp-publish"
        )
        await self._pool.open()

    async def aclose(self) -> None:
        """Enqueue the pending follow-ups and close the pool (tests that run the app in a loop of their own)."""
        await self.after_burst.drain()
        if self._pool is not None:
            await self._pool.close()
        self._loop = self._ready = self._pool = None
