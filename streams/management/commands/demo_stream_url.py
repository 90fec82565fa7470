from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rooms.models import Room
from rooms.selectors import stream_key_active

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Print the RTMP URL, stream key included, of the demo user's room (for make demo-stream)."

    def handle(self, *args, **options):
        room = Room.objects.filter(owner__username=DEMO_USERNAME).order_by("created_at").first()
        key = stream_key_active(room=room) if room is not None else None
        if key is None:
            raise CommandError(f"No room with a stream key for user {DEMO_USERNAME!r}: run make run first.")
        self.stdout.write(f"{settings.RTMP_PUBLIC_URL.rstrip('/')}/{key.secret}")
