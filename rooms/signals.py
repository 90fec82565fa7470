"""What rooms announce to the apps above them, each sent once its transaction commits."""

from django.dispatch import Signal

# kwargs: follow_id.
follow_created = Signal()
# A revoked key's encoder must be disconnected; kwargs: stream_key_id.
stream_key_revoked = Signal()
# The room's chat rules (allow_comments, cooldowns, words) changed; kwargs: room_id.
room_chat_rules_changed = Signal()
