"""What chat announces to the apps above it, sent by the worker, never on the websocket path."""

from django.dispatch import Signal

# A batch of chat messages and danmaku reached the archive (the worker's outbox flush); a batch may come
# again after a failure, so receivers dedupe by message id. kwargs: messages, a list of
# {id, room, stream, user {id, username, display_name}, text, kind, created_at (ISO)}.
chat_messages_archived = Signal()
