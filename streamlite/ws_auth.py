"""Websocket authentication: browsers by the session cookie (channels' AuthMiddlewareStack), other clients
by ``Authorization: Bearer <access>`` on the handshake, verified by djangorestframework-simplejwt. A
missing, bad or expired token, or an inactive user, leaves the socket anonymous: it may watch and read,
and gets ``auth_required`` when it posts (the client learns why without a refused handshake)."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
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


def websocket_auth_stack(inner):
    """Origin check first (a foreign Origin is refused at the handshake), then session, then Bearer."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(BearerAuthMiddleware(inner)))
