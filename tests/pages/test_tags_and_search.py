"""Category tags (seed 001): the tag page, tags on category and VOD pages, and search across rooms,
channels and VODs."""

import pytest
from django.urls import reverse

from tests.factories import CategoryFactory, RoomFactory, TagFactory, UserFactory, VodFactory
from vod.models import Vod

pytestmark = pytest.mark.django_db


def page(client, name, *args, **query):
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def shooters():
    category = CategoryFactory(name="Shooters", slug="shooters")
    category.tags.add(TagFactory(name="FPS", slug="fps"))
    return category


def test_tag_page_lists_rooms_and_vods_of_tagged_categories_only(client, shooters):
    RoomFactory(title="Ranked grind", category=shooters)
    RoomFactory(title="Knitting circle")
    VodFactory(title="Clutch moments", category=shooters)
    VodFactory(title="Yarn haul")
    VodFactory(title="Hidden frags", category=shooters, status=Vod.Status.HIDDEN)

    html = page(client, "tag", "fps")

    assert "#FPS" in html
    assert "Ranked grind" in html and "Clutch moments" in html
    assert "Knitting circle" not in html and "Yarn haul" not in html and "Hidden frags" not in html
    assert reverse("category", args=["shooters"]) in html


def test_unknown_tag_is_404(client):
    assert client.get(reverse("tag", args=["nope"])).status_code == 404


def test_category_page_links_its_tags(client, shooters):
    assert reverse("tag", args=["fps"]) in page(client, "category", "shooters")


def test_search_finds_vods_by_title_description_and_tag(client, shooters):
    VodFactory(title="Speedrun any%")
    VodFactory(title="Night stream", description="a relaxed speedrun practice")
    VodFactory(title="Ranked", category=shooters)
    VodFactory(title="Cooking")

    html = page(client, "search", q="speedrun")
    assert "Speedrun any%" in html and "Night stream" in html
    assert "Cooking" not in html

    html = page(client, "search", q="fps")
    assert "Ranked" in html and "Speedrun any%" not in html


def test_search_finds_rooms_by_their_categorys_tag(client, shooters):
    RoomFactory(title="Arena", category=shooters)
    RoomFactory(title="Garden")
    html = page(client, "search", q="FPS")
    assert "Arena" in html and "Garden" not in html


def test_search_pages_vods_apart_and_survives_bad_page_numbers(client):
    assert page(client, "search", q="x", vpage="abc", page="999999")


def test_vod_page_shows_its_description_category_and_tags(client, shooters):
    vod = VodFactory(
        description="Line one\nline <two>", category=shooters, playlist_path="vods/1/a/index.m3u8"
    )
    html = page(client, "vod_detail", vod.pk)
    assert "Line one<br>line &lt;two&gt;" in html
    assert reverse("category", args=["shooters"]) in html and reverse("tag", args=["fps"]) in html
    assert "data-vod-edit" not in html  # only the owner edits


def test_owner_edits_the_vod_on_its_page(client, shooters):
    vod = VodFactory(playlist_path="vods/1/a/index.m3u8")
    client.force_login(vod.room.owner)
    assert "data-vod-edit" in page(client, "vod_detail", vod.pk)

    response = client.post(
        reverse("vod_edit", args=[vod.pk]),
        {"title": "Best of", "description": "Highlights", "category": shooters.pk},
    )
    assert response.status_code == 302
    vod.refresh_from_db()
    assert (vod.title, vod.description, vod.category) == ("Best of", "Highlights", shooters)


def test_a_bad_edit_is_a_400_with_the_form_and_changes_nothing(client):
    vod = VodFactory(title="Kept", playlist_path="vods/1/a/index.m3u8")
    client.force_login(vod.room.owner)
    response = client.post(reverse("vod_edit", args=[vod.pk]), {"title": "", "category": "999999"})
    assert response.status_code == 400
    assert "field__error" in response.content.decode()
    vod.refresh_from_db()
    assert vod.title == "Kept"


def test_others_cannot_edit_a_vod(client):
    vod = VodFactory(title="Kept")
    client.force_login(UserFactory())
    assert client.post(reverse("vod_edit", args=[vod.pk]), {"title": "Mine"}).status_code == 403
    client.logout()
    assert client.post(reverse("vod_edit", args=[vod.pk]), {"title": "Mine"}).status_code == 302  # to log in
    vod.refresh_from_db()
    assert vod.title == "Kept"
