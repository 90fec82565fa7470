"""The chat archive's MongoDB (SecantusDB stands in on dev and test machines): one client per process."""

from functools import cache

from django.conf import settings
from pymongo import MongoClient
from pymongo.database import Database


@cache
def mongo_client() -> MongoClient:
    return MongoClient(settings.MONGO_URL, tz_aware=True, serverSelectionTimeoutMS=5000)


def mongo_db() -> Database:
    return mongo_client()[settings.MONGO_DB]


# The collection of every chat message and danmaku: documents of chat.archive, read by chat history
# and by VOD danmaku replay.
MESSAGES = "messages"
