"""The chat archive: the worker drains the Redis outbox stream into MongoDB in batches.

Every acknowledged message is XADDed to ``chat:outbox`` by the pipeline (field ``doc``: the JSON of the
Mongo document); moderation may add ``delete`` entries (a message id) when MongoDB was down at the time.
Entries are acknowledged and deleted from the stream only after MongoDB took them, so a MongoDB outage
or a worker dying mid-batch loses nothing; upserts by ``_id`` with $setOnInsert make a replay harmless
and never undo a moderator's ``deleted``."""

import json
import logging
import time
from datetime import datetime

import redis
from pymongo import ASCENDING, DESCENDING, UpdateOne

from chat.signals import chat_messages_archived
from streamlite.events import send_on_commit
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.redis import keys, redis_sync

logger = logging.getLogger(__name__)

GROUP = "archivers"
# An entry a consumer read but did not acknowledge for this long belongs to a dead (or stuck) worker: a
# batch normally takes milliseconds, and a MongoDB outage makes the owner retry well within it.
CLAIM_IDLE_MS = 60_000
# How long a deletion of a message not yet archived is remembered for the flush that archives it.
DELETED_TTL_S = 7 * 24 * 3600


def message_delete_op(*, message_id: int, room_id: int) -> UpdateOne:
    # The room in the filter: a moderator of one room can never hide a message of another.
    return UpdateOne({"_id": message_id, "room": room_id}, {"$set": {"deleted": True}})


def archive_indexes_ensure() -> None:
    """Create the archive's indexes (idempotent): history by room, VOD replay by stream and time."""
    messages = mongo_db()[MESSAGES]
    messages.create_index([("room", ASCENDING), ("created_at", ASCENDING)])
    messages.create_index([("stream", ASCENDING), ("vpos_ms", ASCENDING)])
    messages.create_index([("room", ASCENDING), ("_id", DESCENDING)])


def outbox_group_ensure(client: redis.Redis) -> None:
    try:
        # From the stream's start: entries written before the first worker ever ran are archived too.
        client.xgroup_create(keys.CHAT_OUTBOX, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _entries_next(client: redis.Redis, *, consumer: str, batch: int) -> list[tuple[str, dict]]:
    """This consumer's own unacknowledged entries first (a batch MongoDB refused), then entries a dead
    consumer left pending, then new ones."""
    own = client.xreadgroup(GROUP, consumer, {keys.CHAT_OUTBOX: "0"}, count=batch)
    entries = own[0][1] if own else []
    if entries:
        return entries
    _next, claimed, *_deleted = client.xautoclaim(
        keys.CHAT_OUTBOX, GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=batch
    )
    if claimed:
        return claimed
    fresh = client.xreadgroup(GROUP, consumer, {keys.CHAT_OUTBOX: ">"}, count=batch)
    return fresh[0][1] if fresh else []


def _document(raw: str) -> dict:
    doc = json.loads(raw)
    doc["_id"] = int(doc["_id"])
    doc["created_at"] = datetime.fromisoformat(doc["created_at"])
    doc["deleted"] = False
    return doc


def _announced(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "room": doc["room"],
        "stream": doc.get("stream"),
        "user": {
            "id": doc.get("user"),
            "username": doc.get("username"),
            "display_name": doc.get("display_name"),
        },
        "text": doc["text"],
        "kind": doc.get("kind"),
        "created_at": doc["created_at"].isoformat(),
    }


def outbox_flush(*, batch: int = 500, consumer: str) -> int:
    """Move one batch of the outbox into MongoDB; returns how many entries were handled (0: nothing to
    do). Raises PyMongoError when MongoDB is unavailable: the batch then stays pending for a retry."""
    client = redis_sync()
    outbox_group_ensure(client)
    entries = _entries_next(client, consumer=consumer, batch=batch)
    if not entries:
        return 0
    upserts: dict[int, dict] = {}
    deletes: set[tuple[int, int]] = set()  # (message id, room id)
    for entry_id, fields in entries:
        try:
            if "delete" in fields:
                deletes.add((int(fields["delete"]), int(fields["room"])))
                continue
            doc = _document(fields["doc"])
        except (KeyError, TypeError, ValueError):
            # A malformed entry could never be archived; keeping it would block the stream for good.
            logger.error("chat outbox entry %s is malformed, dropped: %r", entry_id, fields)
            continue
        upserts[doc["_id"]] = doc
    messages = mongo_db()[MESSAGES]
    if upserts:
        messages.bulk_write(
            [UpdateOne({"_id": _id}, {"$setOnInsert": doc}, upsert=True) for _id, doc in upserts.items()],
            ordered=False,
        )
        # Read deletions only after the upsert: a moderator deleting meanwhile either is seen here or
        # finds the document already in MongoDB (chat.services.chat_message_delete writes both).
        flags = client.mget([keys.chat_deleted(_id) for _id in upserts])
        deletes.update((_id, int(flag)) for _id, flag in zip(upserts, flags, strict=True) if flag)
    if deletes:
        messages.bulk_write([message_delete_op(message_id=m, room_id=r) for m, r in sorted(deletes)])
    entry_ids = [entry_id for entry_id, _fields in entries]
    pipe = client.pipeline(transaction=False)
    pipe.xack(keys.CHAT_OUTBOX, GROUP, *entry_ids)
    pipe.xdel(keys.CHAT_OUTBOX, *entry_ids)
    pipe.execute()
    archived = [_announced(doc) for _id, doc in upserts.items() if (_id, doc["room"]) not in deletes]
    if archived and chat_messages_archived.has_listeners():
        send_on_commit(chat_messages_archived, sender=None, messages=archived)
    return len(entries)


def outbox_drain(*, consumer: str, seconds: float, batch: int = 500) -> int:
    """Flush batches while there is work, for at most about ``seconds``; returns entries handled."""
    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        handled = outbox_flush(batch=batch, consumer=consumer)
        total += handled
        if handled == 0:
            break
    return total
