"""Operations: logs, /healthz and /metrics (streamlite.logs, streamlite.health, streamlite.metrics)."""

from streamlite.settings.base import env

HEALTHZ_TIMEOUT_S = env.float("HEALTHZ_TIMEOUT_S", default=1.5)
# /metrics answers these networks, or anyone with "Authorization: Bearer METRICS_TOKEN" when it is set.
# Behind a proxy on the same host every request comes from loopback, unless that proxy is in TRUSTED_PROXIES
# (then the client's own address counts); otherwise block /metrics at the proxy or drop loopback from this list.
METRICS_ALLOWED_CIDRS = env.list("METRICS_ALLOWED_CIDRS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Read by prometheus_client itself when it is imported: several processes of a node share their counters
# through files in this folder, which must be emptied before they start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# json (one JSON object per line, the default) or plain (for a human reading a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "streamlite.logs.json_formatter"},
    },
    "filters": {"context": {"()": "streamlite.logs.ContextFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # uvicorn's own access line prints the query string (the RTMP hooks' secret): streamlite.access
        # logs each request instead; uvicorn's other records go through the root handler in our format.
        "uvicorn.access": {"handlers": [], "propagate": False},
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.error": {"handlers": [], "propagate": True},
    },
}
