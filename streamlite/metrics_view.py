"""Prometheus metrics (prometheus_client), served at /metrics to loopback, METRICS_ALLOWED_CIDRS or a
METRICS_TOKEN bearer.

Two kinds:
- counted in the process that sees the event: chat messages accepted, chat events delivered to sockets,
  HTTP requests (latency by route name, responses by status class; the RTMP hooks are routes too). With
  several processes per node (uvicorn --workers, celery) set PROMETHEUS_MULTIPROC_DIR to an empty folder
  shared by them: prometheus_client then keeps these values in files there and the scrape adds them up.
- read at scrape time from the shared stores, so any web process answers for the whole site: live
  streams (PostgreSQL), viewers and the chat outbox depth (Redis), Celery task failures and retries
  (counted in Redis by streamlite.celery_signals, as the worker has no HTTP endpoint)."""

import hmac
import ipaddress
import logging

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from chat.presence import room_scope
from streamlite.presence import member_counts
from streamlite.redis import keys, redis_sync
from streams.models import Stream

logger = logging.getLogger(__name__)


class SiteCollector:
    """The values read from the shared stores at each scrape."""

    def collect(self):
        live_room_ids = list(
            Stream.objects.filter(status=Stream.Status.LIVE).values_list("room_id", flat=True)
        )
        yield GaugeMetricFamily("streamlite_live_streams", "Streams live now.", value=len(live_room_ids))
        try:
            viewers = member_counts([room_scope(room_id) for room_id in live_room_ids])
            with redis_sync().pipeline(transaction=False) as pipe:
                pipe.xlen(keys.CHAT_OUTBOX)
                pipe.hgetall(keys.METRICS_TASK_FAILURES)
                pipe.hgetall(keys.METRICS_TASK_RETRIES)
                outbox, failures, retries = pipe.execute()
        except redis.RedisError:
            logger.warning("metrics scrape: Redis unavailable, its metrics are left out")
            return
        yield GaugeMetricFamily("streamlite_viewers", "Viewers connected to live rooms.", value=sum(viewers))
        yield GaugeMetricFamily(
            "streamlite_chat_outbox_depth",
            "Chat messages waiting for the archive (Redis outbox).",
            value=outbox,
        )
        for name, documentation, counts in (
            ("streamlite_celery_task_failures", "Celery tasks that raised, by task name.", failures),
            ("streamlite_celery_task_retries", "Celery task retries, by task name.", retries),
        ):
            family = CounterMetricFamily(name, documentation, labels=["task"])
            for task, count in sorted(counts.items()):
                family.add_metric([task], int(count))
            yield family


def _allowed(request: HttpRequest) -> bool:
    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr) for cidr in settings.METRICS_ALLOWED_CIDRS)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        # As if there were nothing here: the endpoint's existence is not advertised.
        return HttpResponseNotFound()
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)
    registry.register(SiteCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
