import pytest
from django.conf import settings
from django.utils import translation

# Every language the site ships; English is the source language.
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


def translated(language: str, text: str) -> str:
    """``text`` as the compiled catalogue of ``language`` says it (what a page in that language shows)."""
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture(params=LANGUAGE_CODES)
def language(request) -> str:
    return request.param
