"""Chat and danmaku length is counted in characters: 200 Chinese, Korean or Vietnamese characters pass,
201 do not (the composer in static/js/chat.js counts the same way, code points of the NFC form)."""

import asyncio
import json
import unicodedata

import pytest

from tests.chat.conftest import chat_hub, chat_redis_flushed, ws_open  # noqa: F401 (fixtures)
from tests.chat.test_consumer import first
from tests.factories import LiveRoomFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# Every character of a sample is one code point in NFC: Vietnamese letters with one or two diacritics
# (precomposed), and CJK extension B characters that take two UTF-16 units each.
SAMPLES = {
    "chinese": "弹幕测试中文字",
    "korean": "한국어채팅시험",
    "vietnamese": "Tiếngệộữằẫ",
    "cjk_extension_b": "𠀋𠂉",
}


def text_of(sample: str, length: int) -> str:
    text = (sample * (length // len(sample) + 1))[:length]
    assert len(text) == length and unicodedata.is_normalized("NFC", text)
    return text


@pytest.fixture
def room():
    return LiveRoomFactory(comment_cooldown_ms=0)


@pytest.fixture
def sender():
    return UserFactory()


@pytest.mark.parametrize("kind", ["chat", "danmaku"])
@pytest.mark.parametrize("script", SAMPLES)
async def test_200_characters_pass_and_201_are_too_long(ws_open, room, sender, kind, script):  # noqa: F811
    socket = await ws_open(room.pk, user=sender)
    just_right = text_of(SAMPLES[script], 200)
    # As browsers send it (JSON.stringify): characters as they are, not \u escapes.
    await socket.send_to(
        text_data=json.dumps({"type": kind, "text": just_right, "client_id": "ok"}, ensure_ascii=False)
    )
    ack = await first(socket, "ack")
    assert ack["client_id"] == "ok"
    too_long = text_of(SAMPLES[script], 201)
    await socket.send_to(
        text_data=json.dumps({"type": kind, "text": too_long, "client_id": "long"}, ensure_ascii=False)
    )
    error = await first(socket, "error")
    assert (error["code"], error.get("client_id")) == ("too_long", "long")


async def test_decomposed_vietnamese_is_counted_and_sent_as_the_letters_users_see(ws_open, room, sender):  # noqa: F811
    """A client that types letters plus combining marks (NFD): 200 letters pass and reach viewers in NFC."""
    socket = await ws_open(room.pk, user=sender)
    letters = text_of(SAMPLES["vietnamese"], 200)
    decomposed = unicodedata.normalize("NFD", letters)
    assert len(decomposed) > 200
    await socket.send_to(
        text_data=json.dumps({"type": "chat", "text": decomposed, "client_id": "nfd"}, ensure_ascii=False)
    )
    # The room's copy of the message may come before the sender's ack: read until both are in.
    events: list[dict] = []
    async with asyncio.timeout(10):
        while not {"ack", "chat"} <= {event["type"] for event in events}:
            events += (await socket.receive_json_from(timeout=10))["events"]
    assert next(e for e in events if e["type"] == "ack")["client_id"] == "nfd"
    assert next(e for e in events if e["type"] == "chat")["text"] == letters
