import pytest

from chat.events import ErrorCode
from chat.pipeline import Rejected, commands_parse, message_validate


def test_commands_before_the_text_set_mode_colour_and_size():
    assert commands_parse("ue red big hello") == ("hello", {"mode": "top", "color": "#ff0000", "size": "big"})


@pytest.mark.parametrize(
    ("text", "style"),
    [
        ("shita hi", {"mode": "bottom"}),
        ("naka hi", {"mode": "scroll"}),
        ("small cyan hi", {"size": "small", "color": "#00ffff"}),
        ("medium hi", {"size": "normal"}),
        ("UE Pink hi", {"mode": "top", "color": "#ff8080"}),
    ],
)
def test_each_command(text, style):
    assert commands_parse(text) == ("hi", style)


def test_commands_stop_at_the_first_ordinary_word():
    assert commands_parse("hello ue red") == ("hello ue red", {})
    assert commands_parse("red hello big") == ("hello big", {"color": "#ff0000"})


def test_a_message_made_only_of_command_words_is_plain_text():
    assert commands_parse("red") == ("red", {})
    assert commands_parse("ue big") == ("ue big", {})


def test_commands_win_over_the_fields_of_the_frame():
    message = message_validate(
        {"type": "danmaku", "text": "shita yellow wow", "mode": "top", "color": "#123456"}
    )
    assert message == {"text": "wow", "mode": "bottom", "color": "#ffff00", "size": "normal"}


def test_chat_text_keeps_command_words():
    assert message_validate({"type": "chat", "text": "  ue red hello "}) == {"text": "ue red hello"}


def test_length_counts_characters_not_bytes():
    assert message_validate({"type": "chat", "text": "漢" * 200})["text"] == "漢" * 200
    with pytest.raises(Rejected) as rejected:
        message_validate({"type": "chat", "text": "漢" * 201})
    assert rejected.value.code == ErrorCode.TOO_LONG


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "chat", "text": "   "},
        {"type": "chat", "text": 5},
        {"type": "danmaku", "text": "hi", "color": "red"},
        {"type": "danmaku", "text": "hi", "color": "#12345g"},
        {"type": "danmaku", "text": "hi", "mode": "sideways"},
        {"type": "danmaku", "text": "hi", "size": "huge"},
    ],
)
def test_bad_fields_are_invalid(payload):
    with pytest.raises(Rejected) as rejected:
        message_validate(payload)
    assert rejected.value.code == ErrorCode.INVALID
