"""What the clips app announces to the apps above it, sent once its transaction commits."""

from django.dispatch import Signal

# A clip became ready to watch; kwargs: clip_id.
clip_ready = Signal()
