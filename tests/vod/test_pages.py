"""The VOD page and its Django-served playlist."""

import pytest

from tests.factories import UserFactory, VodFactory
from vod.models import Vod

pytestmark = pytest.mark.django_db


def test_ready_vod_page_has_the_player_title_streamer_and_views(client):
    vod = VodFactory(title="<b>Speedrun</b>", playlist_path="vods/1/abc/index.m3u8", view_count=7)
    response = client.get(f"/vods/{vod.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;Speedrun&lt;/b&gt;" in html and "<b>Speedrun" not in html
    assert f'data-hls-url="/vods/{vod.pk}/playlist.m3u8"' in html
    assert vod.room.owner.shown_name in html and "7 views" in html
    assert "js/vod_player" in html


def test_room_page_cards_link_to_the_vod_page(client):
    vod = VodFactory(playlist_path="vods/1/abc/index.m3u8")
    assert f'href="/vods/{vod.pk}/"' in client.get(f"/rooms/{vod.room.pk}/").content.decode()


@pytest.mark.parametrize("status", [Vod.Status.PROCESSING, Vod.Status.FAILED, Vod.Status.HIDDEN])
def test_unpublished_vod_pages_are_the_owners_only(client, status):
    vod = VodFactory(status=status, failure_reason="The recording file is empty.")
    assert client.get(f"/vods/{vod.pk}/").status_code == 404
    client.force_login(UserFactory())
    assert client.get(f"/vods/{vod.pk}/").status_code == 404
    client.force_login(vod.room.owner)
    response = client.get(f"/vods/{vod.pk}/")
    assert response.status_code == 200
    if status == Vod.Status.FAILED:
        assert "The recording file is empty." in response.content.decode()


def test_playlist_of_an_unprocessed_or_unknown_vod_is_not_found(client):
    vod = VodFactory(status=Vod.Status.PROCESSING)
    client.force_login(vod.room.owner)
    assert client.get(f"/vods/{vod.pk}/playlist.m3u8").status_code == 404
    assert client.get(f"/vods/{vod.pk}/playlist/source.m3u8").status_code == 404
    assert client.get("/vods/999999/playlist.m3u8").status_code == 404


def test_a_playlist_missing_from_the_store_or_a_rung_not_made_is_not_found(client):
    vod = VodFactory(playlist_path="vods/1/gone/index.m3u8")
    assert client.get(f"/vods/{vod.pk}/playlist/source.m3u8").status_code == 404
    assert client.get(f"/vods/{vod.pk}/playlist/720p.m3u8").status_code == 404


def test_dashboard_has_the_vod_section_for_the_owners_room(client):
    vod = VodFactory()
    client.force_login(vod.room.owner)
    html = client.get("/dashboard/").content.decode()
    assert f'data-list-url="/api/vods/?room={vod.room.pk}"' in html
    assert "js/vod_dashboard" in html
