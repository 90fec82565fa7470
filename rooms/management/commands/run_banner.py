"""What `make run` prints once everything is up: where the site is, how to log in, where to stream.

The demo room's stream key is printed here and only here, to the operator's console.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from rooms.management.demo import (
    ADMIN_USERNAME,
    DEMO_USERNAME,
    admin_password_file,
    demo_password_file,
)
from rooms.models import Room
from rooms.selectors import stream_key_active


def kept_password(path) -> str:
    return path.read_text().strip() if path.exists() else "(not set: run ensure_admin / seed_demo)"


class Command(BaseCommand):
    help = "Print the site URL, the admin and demo logins, the RTMP URL and the demo room's stream key."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The site's address.")

    def handle(self, *args, **options):
        demo_room = Room.objects.filter(owner__username=DEMO_USERNAME).order_by("pk").first()
        key = stream_key_active(room=demo_room) if demo_room else None
        lines = [
            f"Site:              {options['url']}",
            f"Admin login:       {ADMIN_USERNAME} / {kept_password(admin_password_file())}"
            f"   ({options['url']}/admin/)",
            f"Demo streamer:     {DEMO_USERNAME} / {kept_password(demo_password_file())}"
            f"   ({options['url']}/dashboard/)",
            f"RTMP URL:          {settings.RTMP_PUBLIC_URL}",
            f"Demo stream key:   {key.secret if key else '(no demo room: run seed_demo)'}",
        ]
        if demo_room is not None:
            lines.append(f"Demo room:         {options['url']}/rooms/{demo_room.pk}/")
        if not User.objects.filter(username=ADMIN_USERNAME, is_staff=True).exists():
            lines.append("No admin yet: run `python manage.py ensure_admin`.")
        width = max(len(line) for line in lines)
        self.stdout.write("=" * width)
        self.stdout.write("\n".join(lines))
        self.stdout.write("=" * width)
