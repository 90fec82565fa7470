"""First middleware of the stack: gives each request its id (logs and the X-Request-ID response header),
times it for Prometheus by route name, and writes one access log line without the query string (the RTMP
hooks carry their secret there)."""

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from streamlite import metrics
from streamlite.logs import log_context_bind, log_context_reset, log_context_set, request_id_from

logger = logging.getLogger("streamlite.access")

REQUEST_ID_HEADER = "X-Request-ID"


class ObservabilityMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        # Async under an ASGI server, so no thread hop is added in front of the async-capable stack.
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        started, token = self._begin(request)
        try:
            return self._end(request, self.get_response(request), started)
        finally:
            log_context_reset(token)

    async def _acall(self, request):
        started, token = self._begin(request)
        try:
            return self._end(request, await self.get_response(request), started)
        finally:
            log_context_reset(token)

    def _begin(self, request) -> tuple[float, object]:
        request.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        token = log_context_set(None)
        log_context_bind(request_id=request.request_id)
        return time.perf_counter(), token

    def _end(self, request, response, started: float):
        # Still inside the request's log context: the line carries its request id and any stream bound.
        match = getattr(request, "resolver_match", None)
        response[REQUEST_ID_HEADER] = request.request_id
        request_finished(
            method=request.method,
            path=request.path,
            route=match.view_name if match is not None else "unmatched",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def request_finished(*, method: str, path: str, route: str, status: int, seconds: float) -> None:
    """Time the request for Prometheus by route and write its access line (never the query string)."""
    metrics.request_observed(route=route, method=method, status=status, seconds=seconds)
    logger.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
