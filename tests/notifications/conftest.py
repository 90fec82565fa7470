from urllib.parse import urlencode

import pytest
from django.urls import reverse

from rooms.selectors import stream_key_active

HOOK_SECRET = "test-hook-secret"


@pytest.fixture(autouse=True)
def _hook_secret(settings):
    settings.RTMP_HOOK_SECRET = HOOK_SECRET


def hook(client, name: str, room, clientid: str = "1"):
    """An nginx-rtmp hook call for the room's encoder, as the ingest sends it."""
    url = reverse(f"rtmp_hooks:{name}") + "?" + urlencode({"secret": HOOK_SECRET})
    data = {
        "app": "live",
        "addr": "203.0.113.7",
        "name": stream_key_active(room=room).secret,
        "clientid": clientid,
    }
    return client.post(url, data)
