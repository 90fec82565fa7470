"""What streams announces to the apps above it, each sent once its transaction commits."""

from django.dispatch import Signal

# A room went live; kwargs: stream_id, room_id.
stream_started = Signal()
# A live stream ended (ingest, reaper or replacement); kwargs: stream_id, room_id.
stream_ended = Signal()
# The ingest finished the stream's recording (Stream.recording_path is set); kwargs: stream_id.
recording_done = Signal()
