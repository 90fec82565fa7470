"""Static files as the web process serves them (WhiteNoise): hashed names, far-future caching, compressed."""

import gzip
import re
from pathlib import Path

import brotli
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

ONE_YEAR_S = 365 * 24 * 3600


def hashed_stylesheet_url(client) -> str:
    html = client.get("/").content.decode()
    # The manifest storage puts a content hash in each name, so a changed file gets a new URL.
    return re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', html).group(1)


def source_of(url: str) -> bytes:
    return (Path(settings.STATIC_ROOT) / url.removeprefix(settings.STATIC_URL)).read_bytes()


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("accept", "encoding", "decompress"),
    [("br, gzip", "br", brotli.decompress), ("gzip, deflate", "gzip", gzip.decompress)],
)
def test_a_hashed_static_url_is_immutable_and_compressed(client, accept, encoding, decompress):
    url = hashed_stylesheet_url(client)
    response = client.get(url, headers={"accept-encoding": accept})

    assert response.status_code == 200
    cache_control = response["Cache-Control"]
    assert "immutable" in cache_control and "public" in cache_control
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= ONE_YEAR_S
    assert response["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response["Vary"]
    original = source_of(url)
    compressed = body(response)
    assert decompress(compressed) == original and len(compressed) < len(original)


def test_a_client_without_compression_gets_the_plain_file(client):
    url = hashed_stylesheet_url(client)
    response = client.get(url)
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert body(response) == source_of(url)
