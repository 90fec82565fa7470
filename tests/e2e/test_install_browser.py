"""The site as Chromium installs it: a web app manifest with icons that load, and /favicon.ico."""

import pytest

from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ICON_SIZES = """async (manifest) => Promise.all(manifest.icons.map((icon) => new Promise((resolve) => {
  const image = new Image();
  image.onload = () => resolve(`${image.naturalWidth}x${image.naturalHeight}`);
  image.onerror = () => resolve("broken");
  image.src = icon.src;
})))"""


def test_the_manifest_names_the_site_and_its_icons_load(web_server, chromium):  # noqa: F811
    page = chromium.new_page()
    page.goto(f"{web_server}/")
    href = page.get_attribute("link[rel=manifest]", "href")
    response = page.request.get(f"{web_server}{href}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert (
        manifest["name"] == "StreamLite"
        and manifest["start_url"] == "/"
        and manifest["display"] == "standalone"
    )
    sizes = page.evaluate(ICON_SIZES, manifest)
    assert sizes == [icon["sizes"] for icon in manifest["icons"]]
    assert {"192x192", "512x512"} <= set(sizes)
    assert page.get_attribute("meta[name=theme-color]", "content") == manifest["theme_color"]


def test_favicon_ico_is_served_at_the_root(web_server, chromium):  # noqa: F811
    page = chromium.new_page()
    response = page.goto(f"{web_server}/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # the ICO signature
