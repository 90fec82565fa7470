"""The site language of a signed-in user.

Precedence, most explicit first: the language cookie (set by the navigation bar's switcher on this
browser, and at log-in from the saved choice) > the user's saved language > Accept-Language > English.
LocaleMiddleware already handled the cookie and Accept-Language; this one, placed after
AuthenticationMiddleware, puts the saved language in between.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

# Set on the request by the user_logged_in signal: the response carries the saved language as a cookie.
LOGIN_LANGUAGE_ATTR = "language_from_login"


def language_cookie_set(response: HttpResponse, language: str) -> None:
    """The cookie Django's set_language writes; an empty language removes it (follow the browser)."""
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
        )
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        chosen_here = settings.LANGUAGE_COOKIE_NAME in request.COOKIES
        if not chosen_here and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        response = self.get_response(request)
        login_language = getattr(request, LOGIN_LANGUAGE_ATTR, "")
        if login_language:
            language_cookie_set(response, login_language)
        return response
