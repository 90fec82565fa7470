"""What happens to streams, for the apps above that react to it (DESIGN §5): streams never imports them.

Sent once the transaction that caused them commits (send_on_commit), never on a rollback. Receivers get
ids, enqueue their own work and return: they run in the ingest hook's request.
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# kwargs: stream_id, room_id. A room went live.
stream_started = Signal()
# kwargs: stream_id. The ingest finished the stream's recording (Stream.recording_path is set).
recording_done = Signal()


def send_on_commit(signal: Signal, *, sender, **kwargs) -> None:
    """Send ``signal`` once the current transaction commits. A failing receiver (a broker hiccup) is
    logged and stops neither the others nor the caller: the rows are committed already."""
    transaction.on_commit(partial(_send, signal, sender, kwargs))


def _send(signal: Signal, sender, kwargs: dict) -> None:
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("receiver %s failed", getattr(receiver, "__qualname__", receiver), exc_info=result)
