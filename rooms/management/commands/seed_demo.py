"""Demo data for a local install: categories, streamers with their rooms, viewers who follow them.

Safe to run again: rows are looked up by username and slug, covers are drawn only when missing.
"""

import io
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from accounts.models import User
from rooms import services
from rooms.management.demo import DEMO_USERNAME, demo_password_file, password_ensure, password_from_file
from rooms.models import Category, Follow, Room

CATEGORIES = [
    ("just-chatting", "Just Chatting", "Hang out, talk about your day, answer questions from chat."),
    ("games", "Games", "Speedruns, first playthroughs, strategy and cosy games."),
    ("music", "Music", "Live sets, practice sessions, songwriting and DJ mixes."),
    ("art", "Art", "Drawing, painting, 3D and pixel art made live."),
    ("science-tech", "Science & Tech", "Programming, electronics, space and experiments."),
    ("sports", "Sports", "Workouts, match commentary, climbing and running."),
]
# The demo categories' names in the site's other languages (staff edit them in the admin).
CATEGORY_NAMES = {
    "just-chatting": {"zh-hans": "闲聊", "ko": "저스트 채팅", "vi": "Trò chuyện"},
    "games": {"zh-hans": "游戏", "ko": "게임", "vi": "Trò chơi"},
    "music": {"zh-hans": "音乐", "ko": "음악", "vi": "Âm nhạc"},
    "art": {"zh-hans": "艺术", "ko": "아트", "vi": "Nghệ thuật"},
    "science-tech": {"zh-hans": "科学与技术", "ko": "과학 & 기술", "vi": "Khoa học & Công nghệ"},
    "sports": {"zh-hans": "运动", "ko": "스포츠", "vi": "Thể thao"},
}

# (username, display name, bio, category slug, room title, room description)
STREAMERS = [
    (
        DEMO_USERNAME,
        "Demo Streamer",
        "The demo account of this install: log in and open the dashboard to see the stream key.",
        "just-chatting",
        "Demo room: test pattern and friendly chat",
        "Push `make demo-stream` to see this room go live.",
    ),
    (
        "xiaolong",
        "小龙",
        "每天晚上弹吉他，也聊聊生活。Guitar every evening.",
        "music",
        "Evening guitar session 吉他之夜",
        "Fingerstyle covers and requests from chat.",
    ),
    (
        "minji",
        "김민지",
        "서울에서 게임 방송해요. Co-op games and speedruns from Seoul.",
        "games",
        "Speedrun practice: any% attempts",
        "Resetting until the route is clean. Backseating welcome, mostly.",
    ),
    (
        "linh",
        "Nguyễn Thùy Linh",
        "Họa sĩ minh họa ở Hà Nội. Illustrator drawing live from Hanoi.",
        "art",
        "Sketchbook Sunday: ink and watercolour",
        "Slow drawing, good music, questions about technique welcome.",
    ),
    (
        "byteforge",
        "ByteForge",
        "Building open-source tools live; ask about Python, Rust and soldering.",
        "science-tech",
        "Writing a tiny video server from scratch",
        "Today: segmenting HLS by hand and why keyframes matter.",
    ),
    (
        "trailrunner",
        "Trail Runner Ana",
        "Ultra runner and coach. Morning workouts you can follow along with.",
        "sports",
        "Morning mobility and core, 30 minutes",
        "Grab a mat: beginner-friendly, modifications for every move.",
    ),
]

VIEWER_COUNT = 20
# Cover palettes: (top colour, bottom colour), picked by position so every run draws the same images.
PALETTES = [
    ((124, 58, 237), (17, 24, 39)),
    ((236, 72, 153), (30, 27, 75)),
    ((16, 185, 129), (6, 78, 59)),
    ((245, 158, 11), (120, 53, 15)),
    ((59, 130, 246), (15, 23, 42)),
    ((239, 68, 68), (69, 10, 10)),
]
COVER_SIZE = (640, 360)


def cover_png(*, text: str, palette: tuple[tuple[int, int, int], tuple[int, int, int]]) -> bytes:
    """A 16:9 vertical gradient with ``text`` on it, as PNG bytes; the same inputs give the same bytes."""
    (top, bottom), (width, height) = palette, COVER_SIZE
    image = Image.new("RGB", COVER_SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        mix = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    font = ImageFont.load_default(size=44)
    draw.text((width / 2, height / 2), text, font=font, fill=(255, 255, 255), anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def cover_missing(field) -> bool:
    return not field or not field.storage.exists(field.name)


class Command(BaseCommand):
    help = "Create the demo categories, streamers, rooms and followers (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-password-file",
            type=Path,
            default=None,
            help="Where the demo streamer's password is kept (default: var/demo-password.txt).",
        )

    def handle(self, *args, **options):
        password_file = options["demo_password_file"] or demo_password_file()
        with transaction.atomic():
            categories = self.seed_categories()
            rooms = self.seed_streamers(categories)
            follows_new = self.seed_viewers([room.owner for room in rooms])
            demo = User.objects.get(username=DEMO_USERNAME)
            password_ensure(demo, password_from_file(password_file))
        covers_new = self.draw_covers(categories, rooms)
        self.stdout.write(
            f"Demo data: {Category.objects.count()} categories, {Room.objects.count()} rooms, "
            f"{User.objects.count()} users, {Follow.objects.count()} follows "
            f"({follows_new} new follows, {covers_new} new covers)."
        )
        self.stdout.write(f"Demo streamer login: {DEMO_USERNAME} / {password_file.read_text().strip()}")

    def seed_categories(self) -> list[Category]:
        categories = []
        for position, (slug, name, description) in enumerate(CATEGORIES):
            category, _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description, "position": position}
            )
            if not category.names:  # names staff already edited stay theirs
                category.names = CATEGORY_NAMES.get(slug, {})
                category.save(update_fields=["names"])
            categories.append(category)
        return categories

    def seed_streamers(self, categories: list[Category]) -> list[Room]:
        by_slug = {category.slug: category for category in categories}
        rooms = []
        for username, display_name, bio, slug, title, description in STREAMERS:
            streamer = self.demo_user(username=username, display_name=display_name, bio=bio)
            room = Room.objects.filter(owner=streamer).order_by("pk").first()
            if room is None:
                room = services.room_create(
                    owner=streamer, title=title, description=description, category=by_slug[slug]
                )
            rooms.append(room)
        return rooms

    def seed_viewers(self, streamers: list[User]) -> int:
        created_count = 0
        for number in range(1, VIEWER_COUNT + 1):
            viewer = self.demo_user(username=f"viewer{number:02d}", display_name=f"Viewer {number}", bio="")
            # Each viewer follows two to four streamers, spread so every streamer has followers.
            for offset in range(2 + number % 3):
                followed = streamers[(number + offset) % len(streamers)]
                _, created = services.follow_create(follower=viewer, followed=followed)
                created_count += created
        return created_count

    def demo_user(self, *, username: str, display_name: str, bio: str) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@demo.invalid", "display_name": display_name, "bio": bio},
        )
        if created:
            # Demo accounts cannot be logged into; the demo streamer gets its password separately.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

    def draw_covers(self, categories: list[Category], rooms: list[Room]) -> int:
        drawn = 0
        for position, item in enumerate([*categories, *rooms]):
            if not cover_missing(item.cover):
                continue
            label = item.name if isinstance(item, Category) else f"@{item.owner.username}"
            png = cover_png(text=label, palette=PALETTES[position % len(PALETTES)])
            item.cover.save(f"demo-{type(item).__name__.lower()}-{item.pk}.png", ContentFile(png), save=True)
            drawn += 1
        return drawn
