"""The JavaScript catalogue (/jsi18n/) per language, loaded by pages before their scripts."""

import json
import re

import pytest
from django.conf import settings

from tests.factories import LiveRoomFactory

pytestmark = pytest.mark.django_db

# One sentence of static/js/chat.js (the room's connection status).
JS_SENTENCE = "Connected"


def catalogue_source(client, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/jsi18n/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "Last-Modified" in response
    return response.content.decode()


def catalogue_part(source: str, assignment: str) -> dict:
    """The JSON object the catalogue script assigns with ``assignment`` ("const newcatalog =" ...)."""
    match = re.search(rf"{re.escape(assignment)} (\{{.*?\}});\n", source, flags=re.S)
    return json.loads(match.group(1)) if match else {}


def test_each_language_gets_its_own_catalogue_formats_and_plural_rule(client):
    sources = {code: catalogue_source(client, code) for code, _name in settings.LANGUAGES}
    assert len(set(sources.values())) == len(sources)
    for source in sources.values():
        assert "globals.gettext = " in source and "globals.ngettext = " in source
    formats = {code: catalogue_part(source, "django.formats =") for code, source in sources.items()}
    assert formats["ko"]["DATE_FORMAT"] != formats["en"]["DATE_FORMAT"]


@pytest.mark.parametrize("language", ["zh-hans", "ko", "vi"])
def test_the_scripts_sentences_are_in_the_catalogue(client, language):
    """Fails until djangojs.po of the language is translated (see test_catalogues)."""
    strings = catalogue_part(catalogue_source(client, language), "const newcatalog =")
    assert strings.get(JS_SENTENCE, JS_SENTENCE) != JS_SENTENCE, f"{language}: {JS_SENTENCE!r} untranslated"


def test_pages_load_the_catalogue_before_their_scripts(client):
    room = LiveRoomFactory()
    body = client.get(f"/rooms/{room.pk}/").content.decode()
    catalogue_at = body.index('src="/jsi18n/en/"')
    assert catalogue_at < body.index("js/chat.")
    assert catalogue_at < body.index("js/player.")
    assert body.index("<head>") < catalogue_at < body.index("</head>")


def test_the_catalogue_address_names_its_language_whatever_the_cookie_says(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/jsi18n/vi/")
    assert response.status_code == 200
    strings = catalogue_part(response.content.decode(), "const newcatalog =")
    assert (
        strings[JS_SENTENCE]
        == catalogue_part(catalogue_source(client, "vi"), "const newcatalog =")[JS_SENTENCE]
    )


def test_pages_in_each_language_load_that_languages_catalogue(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert 'src="/jsi18n/zh-hans/"' in client.get("/").content.decode()


def test_an_unknown_language_has_no_catalogue(client):
    assert client.get("/jsi18n/xx/").status_code == 404
