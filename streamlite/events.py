"""Domain events between apps (DESIGN §5): a lower app defines a Signal and sends it once its transaction
commits; a higher app connects a receiver in its AppConfig.ready. Nothing is sent on rollback."""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def _send(signal: Signal, sender: type, kwargs: dict) -> None:
    # One receiver failing (a broker hiccup) must not keep the others from reacting.
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "receiver %s of %s failed",
                getattr(receiver, "__qualname__", receiver),
                sender,
                exc_info=result,
            )


def send_on_commit(signal: Signal, *, sender: type, **kwargs) -> None:
    """Send ``signal`` when the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(_send, signal, sender, kwargs), robust=True)
