"""The ASGI app served over HTTP by a real web process, as `make run` starts it (uvicorn)."""

import gzip
import io
import json
import re
from urllib.request import Request, urlopen

import pytest
from django.core.management import call_command
from django.templatetags.static import static

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fetch(url: str):
    with urlopen(url, timeout=10) as response:  # noqa: S310 (our own loopback server)
        return response.status, response.headers, response.read().decode()


def test_health_check_answers_over_http(web_server):
    status, _, body = fetch(f"{web_server}/healthz")

    assert status == 200
    assert json.loads(body) == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "mongo": "ok", "storage": "ok"},
    }


def test_home_page_shows_the_seeded_rooms(web_server, tmp_path):
    call_command("seed_demo", demo_password_file=tmp_path / "demo-password.txt", stdout=io.StringIO())

    status, headers, body = fetch(f"{web_server}/")

    assert status == 200
    assert headers.get_content_type() == "text/html"
    assert "Demo room: test pattern and friendly chat" in body
    assert "Evening guitar session 吉他之夜" in body


def test_stylesheets_are_served_by_whitenoise(web_server):
    _, _, home = fetch(f"{web_server}/")
    links = re.findall(r"<link\b[^>]*>", home)
    stylesheets = [re.search(r'href="([^"]+)"', link)[1] for link in links if 'rel="stylesheet"' in link]

    for path in [static("admin/css/base.css"), *stylesheets]:
        status, headers, body = fetch(f"{web_server}{path}")
        assert status == 200
        assert headers.get_content_type() == "text/css"
        # The hashed names of the manifest storage are cached for good: WhiteNoise, not Django, served it.
        assert "immutable" in headers["Cache-Control"]
        assert body.strip()


def test_a_kept_page_reaches_a_browser_gzipped_with_the_right_length(web_server, tmp_path):
    call_command("seed_demo", demo_password_file=tmp_path / "demo-password.txt", stdout=io.StringIO())
    _, _, plain = fetch(f"{web_server}/")  # rendered, then kept

    request = Request(f"{web_server}/", headers={"Accept-Encoding": "gzip, deflate, br"})  # noqa: S310
    with urlopen(request, timeout=10) as response:  # noqa: S310 (our own loopback server)
        body = response.read()
        headers = response.headers
    assert headers["Content-Encoding"] == "gzip"
    assert int(headers["Content-Length"]) == len(body) < len(plain.encode()) / 3
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body).decode() == plain
