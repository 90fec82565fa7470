import io

from django.core.management import call_command
from django.test import RequestFactory
from django.utils import translation

from accounts.models import User
from rooms.models import Category, Follow, Room
from rooms.selectors import stream_key_active


def seed(tmp_path) -> None:
    call_command("seed_demo", demo_password_file=tmp_path / "demo-password.txt", stdout=io.StringIO())


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "rooms": Room.objects.count(),
        "categories": Category.objects.count(),
        "follows": Follow.objects.count(),
    }


def test_seeding_twice_creates_nothing_new(db, tmp_path):
    seed(tmp_path)
    first = counts()
    covers = dict(Room.objects.values_list("pk", "cover"))

    seed(tmp_path)

    assert counts() == first
    assert first["categories"] >= 6 and first["rooms"] >= 6 and first["users"] >= 26
    assert first["follows"] > first["users"]
    assert dict(Room.objects.values_list("pk", "cover")) == covers


def test_every_demo_room_has_a_cover_image_in_storage(db, tmp_path):
    seed(tmp_path)

    for room in Room.objects.all():
        with room.cover.open("rb") as cover:
            assert cover.read(8) == b"\x89PNG\r\n\x1a\n"


def test_demo_room_has_an_active_stream_key_and_a_working_login(db, tmp_path, client):
    seed(tmp_path)
    demo_room = Room.objects.get(owner__username="demo")
    password = (tmp_path / "demo-password.txt").read_text().strip()

    assert stream_key_active(room=demo_room) is not None
    assert client.login(request=RequestFactory().post("/accounts/login/"), username="demo", password=password)


def test_other_demo_users_cannot_log_in(db, tmp_path):
    seed(tmp_path)

    others = User.objects.exclude(username="demo")
    assert others.exists()
    assert not any(user.has_usable_password() for user in others)


def test_demo_streamers_include_chinese_korean_and_vietnamese_names(db, tmp_path):
    seed(tmp_path)

    names = set(User.objects.filter(rooms__isnull=False).values_list("display_name", flat=True))
    assert {"小龙", "김민지", "Nguyễn Thùy Linh"} <= names


def test_ensure_admin_twice_reuses_the_admin_and_its_password(db, tmp_path, client):
    password_file = tmp_path / "admin-password.txt"
    output = io.StringIO()
    call_command("ensure_admin", password_file=password_file, stdout=output)
    password = password_file.read_text().strip()
    assert f"admin / {password}" in output.getvalue()
    admin_pk = User.objects.get(username="admin").pk

    call_command("ensure_admin", password_file=password_file, stdout=io.StringIO())

    admin = User.objects.get(username="admin")
    assert admin.pk == admin_pk and admin.is_staff and admin.is_superuser
    assert password_file.read_text().strip() == password
    assert client.login(
        request=RequestFactory().post("/accounts/login/"), username="admin", password=password
    )


def test_ensure_admin_restores_the_printed_password_after_it_changed(db, tmp_path, client):
    password_file = tmp_path / "admin-password.txt"
    call_command("ensure_admin", password_file=password_file, stdout=io.StringIO())
    admin = User.objects.get(username="admin")
    admin.set_password("something-else-42")
    admin.save()

    call_command("ensure_admin", password_file=password_file, stdout=io.StringIO())

    assert client.login(
        request=RequestFactory().post("/accounts/login/"),
        username="admin",
        password=password_file.read_text().strip(),
    )


def test_demo_categories_have_their_names_in_every_language_and_keep_edited_ones(db, tmp_path):
    seed(tmp_path)
    music = Category.objects.get(slug="music")
    assert _shown(music, "zh-hans") == "音乐"
    assert (
        _shown(music, "ko") == "음악" and _shown(music, "vi") == "Âm nhạc" and _shown(music, "en") == "Music"
    )
    music.names = {"vi": "Nhạc sống"}
    music.save(update_fields=["names"])

    seed(tmp_path)

    assert Category.objects.get(slug="music").names == {"vi": "Nhạc sống"}


def _shown(category: Category, language: str) -> str:
    with translation.override(language):
        return str(category)
