"""The ingest (nginx-rtmp) and its hooks: what render_rtmp_config writes into nginx's config and what the
hooks and tasks use."""

import environ

from streamlite.settings.base import DEBUG, MIDDLEWARE, VAR_DIR, debug_secret, env

RTMP_HOOK_SECRET = env.str("RTMP_HOOK_SECRET", default=debug_secret() if DEBUG else environ.Env.NOTSET)
RTMP_PORT = env.int("RTMP_PORT", default=1935)
HLS_HTTP_PORT = env.int("HLS_HTTP_PORT", default=8080)
RTMP_PUBLIC_URL = env.str("RTMP_PUBLIC_URL", default=f"rtmp://127.0.0.1:{RTMP_PORT}/live")
HLS_PUBLIC_URL = env.str("HLS_PUBLIC_URL", default=f"http://127.0.0.1:{HLS_HTTP_PORT}/hls")
HLS_ROOT = env.path("HLS_ROOT", default=str(VAR_DIR / "hls"))
RECORDINGS_ROOT = env.path("RECORDINGS_ROOT", default=str(VAR_DIR / "recordings"))
RTMP_HOOK_BASE_URL = env.str("RTMP_HOOK_BASE_URL", default="http://127.0.0.1:8000")
RTMP_HLS_APP = env.str("RTMP_HLS_APP", default="hls")
RTMP_UPDATE_INTERVAL_S = env.int("RTMP_UPDATE_INTERVAL_S", default=10)
# nginx's /stat and /control handlers (loopback-only in the rendered config): with several ingest nodes,
# each node's URL, comma-separated, reachable from the workers; reconcile and key-reset drops ask them all.
INGEST_HTTP_URL = env.str("INGEST_HTTP_URL", default=f"http://127.0.0.1:{HLS_HTTP_PORT}")
INGEST_CONTROL_ALLOW = env.list("INGEST_CONTROL_ALLOW", default=[])
# Seconds of fragments the live playlist lists (nginx-rtmp keeps each fragment on disk at least this long):
# live clips reach back this far. Players start near the live edge whatever the length.
HLS_WINDOW_S = env.int("HLS_WINDOW_S", default=60)
# How often the worker takes a frame of each live stream for its card (one keyframe, no full decode).
PREVIEW_INTERVAL_S = env.int("PREVIEW_INTERVAL_S", default=30)

# The RTMP hooks run in their own handler (streams.hooks.HookHandler) with, of the stack above, only the
# request id, timing and access line: nginx's callbacks use no session, user, CSRF token, message or
# language, and a storm of them should spend its CPU on going live (docs/benchmarks.md, reconnect storm).
RTMP_HOOK_MIDDLEWARE = [
    path for path in MIDDLEWARE if path == "streamlite.middleware.ObservabilityMiddleware"
]

# The live quality ladder (streams.transcoder): each Celery worker on the ingest's host runs an ffmpeg per
# transcoded stream, reading the HLS application over loopback and publishing the lower rungs to the
# ladder application, which writes them into HLS_ROOT beside the source (the master playlist too).
RTMP_LADDER_APP = env.str("RTMP_LADDER_APP", default="ladder")
LADDER_SUPERVISOR = env.bool("LADDER_SUPERVISOR", default=True)
LADDER_TICK_S = env.float("LADDER_TICK_S", default=2.0)
# A transcoder that dies is started again this many times per stream; then the stream plays its source only.
LADDER_MAX_RESTARTS = env.int("LADDER_MAX_RESTARTS", default=3)
# A worker that stopped reporting its transcoder this long ago has died: its slot is free again.
LADDER_ORPHAN_S = env.int("LADDER_ORPHAN_S", default=20)
