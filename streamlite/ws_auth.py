"""Websocket authentication: browsers by the session cookie (channels' AuthMiddlewareStack), other clients
by ``Authorization: Bearer <access>`` on the handshake, verified by djangorestframework-simplejwt. A
missing, bad or expired token, or an inactive user, leaves the socket anonymous: it may watch and read,
and gets ``auth_required`` when it posts (the client learns why without a refused handshake)."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken


def _bearer_token(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def jwt_user(raw_token: str):
    """The active user an access token belongs to, else AnonymousUser."""
    try:
        token = AccessToken(raw_token)
    except TokenError:
        return AnonymousUser()
    user = (
        get_user_model()
        .objects.filter(**{api_settings.USER_ID_FIELD: token.get(api_settings.USER_ID_CLAIM)})
        .first()
    )
    if user is None or not user.is_active:
        return AnonymousUser()
    return user


class BearerAuthMiddleware(BaseMiddleware):
    """Put the user of a Bearer token into scope["user"]; a handshake without the header keeps the
    session user AuthMiddlewareStack found."""

    async def __call__(self, scope, receive, send):
        token = _bearer_token(scope)
        if token is not None:
            scope = dict(scope, user=await database_sync_to_async(jwt_user)(token))
        return await super().__call__(scope, receive, send)


DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_tuple(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of ``scheme://host[:port]``, the port filled in for the scheme; None if malformed."""
    scheme, separator, rest = origin.strip().lower().partition("://")
    if not separator or scheme not in DEFAULT_PORTS or not rest or "/" in rest:
        return None
    host, port = split_domain_port(rest)
    if not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


def site_origins(scope) -> set[tuple[str, str, str]]:
    """The origins this site's pages are served from, as Django's CSRF check sees them: the handshake's own
    scheme and Host (a host in ALLOWED_HOSTS), and each of CSRF_TRUSTED_ORIGINS."""
    origins = {_origin_tuple(origin) for origin in settings.CSRF_TRUSTED_ORIGINS}
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    host = _header(scope, b"host")
    if host is not None and validate_host(split_domain_port(host.lower())[0], settings.ALLOWED_HOSTS):
        origins.add(_origin_tuple(f"{scheme}://{host}"))
    origins.discard(None)
    return origins


class SiteOriginValidator:
    """Refuse a handshake whose Origin is not one of the site's own origins, scheme, host and port compared
    (a page on http://host:9999 must not use the cookies of http://host:8000). A handshake without an Origin
    is refused too: every browser sends one, and other clients can send the site's."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and _origin_tuple(origin) in site_origins(scope):
            return await self.application(scope, receive, send)
        # Refused before accepting: the client sees an HTTP 403. Raw ASGI rather than a consumer, so a
        # refused handshake costs no channel-layer channel.
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})


def websocket_auth_stack(inner):
    """Origin check first (a foreign Origin is refused at the handshake), then session, then Bearer."""
    return SiteOriginValidator(AuthMiddlewareStack(BearerAuthMiddleware(inner)))
