"""Restreaming to other platforms: the worker's relay supervisor and the encryption of destination keys."""

import base64
import hashlib

from streamlite.settings.base import SECRET_KEY, env

# Fernet keys (comma-separated, newest first, so old keys still decrypt during a rotation) that encrypt
# the stream keys of restream destinations at rest. Unset: one derived from SECRET_KEY.
RESTREAM_KEYS_SECRET = env.list(
    "RESTREAM_KEYS_SECRET",
    default=[
        base64.urlsafe_b64encode(hashlib.sha256(b"restream-keys:" + SECRET_KEY.encode()).digest()).decode()
    ],
)
# Each Celery worker supervises the relays (ffmpeg -c copy) of the destinations it claims.
RELAY_SUPERVISOR = env.bool("RELAY_SUPERVISOR", default=True)
RELAY_TICK_S = env.float("RELAY_TICK_S", default=2.0)
# A relay whose worker stopped refreshing it this long ago is an orphan: any worker cleans or takes it.
RELAY_ORPHAN_S = env.int("RELAY_ORPHAN_S", default=20)
# Retries after a failure wait RELAY_RETRY_BASE_S, then twice as long each time, up to RELAY_RETRY_MAX_S.
RELAY_RETRY_BASE_S = env.int("RELAY_RETRY_BASE_S", default=2)
RELAY_RETRY_MAX_S = env.int("RELAY_RETRY_MAX_S", default=60)
# rtmps destinations' certificates are verified against this PEM file of CAs; unset: the system's store.
RELAY_TLS_CA_FILE = env.str("RELAY_TLS_CA_FILE", default="")
# Where a relay reads the room's stream: the ingest's loopback-only HLS application (DESIGN §2.1).
RELAY_SOURCE_HOST = env.str("RELAY_SOURCE_HOST", default="127.0.0.1")
# The largest video file a streamer may upload for a playout.
PLAYOUT_UPLOAD_MAX_BYTES = env.int("PLAYOUT_UPLOAD_MAX_BYTES", default=2 * 1024**3)
