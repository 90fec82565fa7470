"""What the vod app announces to the apps above it, sent once its transaction commits."""

from django.dispatch import Signal

# A VOD became ready to watch; kwargs: vod_id.
vod_ready = Signal()
