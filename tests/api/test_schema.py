import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "/api/auth/register/": {"post"},
    "/api/auth/token/": {"post"},
    "/api/auth/token/refresh/": {"post"},
    "/api/auth/logout/": {"post"},
    "/api/me/": {"get", "patch"},
    "/api/rooms/": {"get", "post"},
    "/api/rooms/{id}/": {"get", "patch"},
    "/api/rooms/{id}/stream-key/": {"get"},
    "/api/rooms/{id}/stream-key/reset/": {"post"},
    "/api/rooms/{id}/records/": {"get"},
    "/api/rooms/{id}/schedule/": {"get", "post"},
    "/api/schedule/{id}/": {"delete"},
    "/api/schedule/{id}/remind/": {"post", "delete"},
    "/api/rooms/{id}/messages/": {"get"},
    "/api/rooms/{id}/viewers/": {"get"},
    "/api/rooms/{id}/moderation/delete/": {"post"},
    "/api/rooms/{id}/moderation/timeout/": {"post"},
    "/api/rooms/{id}/moderation/ban/": {"post"},
    "/api/rooms/{id}/moderation/ban/{username}/": {"delete"},
    "/api/rooms/{id}/chat-settings/": {"get", "patch"},
    "/api/rooms/{id}/moderators/{username}/": {"post", "delete"},
    "/api/rooms/{id}/moderation/pin/": {"post", "delete"},
    "/api/rooms/{id}/moderation/highlight/": {"post"},
    "/api/emotes/": {"get"},
    "/api/rooms/{id}/emotes/": {"get", "post"},
    "/api/rooms/{id}/emotes/{emote_id}/": {"delete"},
    "/api/users/{username}/": {"get"},
    "/api/users/{username}/follow/": {"post", "patch", "delete"},
    "/api/notifications/": {"get"},
    "/api/notifications/read/": {"post"},
    "/api/vods/": {"get"},
    "/api/vods/{id}/": {"get", "patch", "delete"},
    "/api/vods/{id}/retry/": {"post"},
    "/api/vods/{id}/view/": {"post"},
    "/api/vods/{id}/danmaku/": {"get"},
    "/api/vods/{id}/chat/": {"get"},
    "/api/vods/{id}/danmaku/density/": {"get"},
    "/api/rooms/{id}/clips/": {"post"},
    "/api/vods/{id}/clips/": {"post"},
    "/api/clips/": {"get"},
    "/api/clips/{slug}/": {"get", "patch", "delete"},
    "/api/clips/{slug}/view/": {"post"},
    "/api/clips/{slug}/danmaku/": {"get"},
    "/api/webhooks/": {"get", "post"},
    "/api/webhooks/{id}/": {"delete"},
    "/api/webhooks/{id}/test/": {"post"},
    "/api/webhooks/{id}/deliveries/": {"get"},
    "/api/rooms/{id}/destinations/": {"get", "post"},
    "/api/destinations/{id}/": {"get", "patch", "delete"},
    "/api/rooms/{id}/playouts/": {"get", "post"},
    "/api/playouts/{id}/": {"get", "delete"},
}


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_the_schema_documents_every_operation_with_its_errors(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = {
        path: {m for m in ops if m in {"get", "post", "patch", "put", "delete"}}
        for path, ops in schema["paths"].items()
    }
    assert paths == OPERATIONS
    assert "Error" in schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            if method in OPERATIONS[path]:
                assert {"401", "429"} <= set(operation["responses"]), (path, method)


def test_the_docs_page_loads_its_assets_from_our_static_files(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert assets
    # The start-up script is the docs view's own (a file, not inline: the site's CSP allows no inline script).
    assert all(url.startswith(("/static/", "/api/docs/?script")) for url in assets), assets
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
