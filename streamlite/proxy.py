"""The client's address and scheme behind a reverse proxy, believed only from the proxies in
``TRUSTED_PROXIES`` (addresses or networks, empty by default): anyone else's X-Forwarded-For or
X-Forwarded-Proto is ignored, so a forged header neither dodges throttles and lockouts nor writes a fake
address into the activity log. The ASGI servers themselves are started without proxy-header handling
(uvicorn --no-proxy-headers): this is the one place that reads those headers, for HTTP and websockets."""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _header(scope, name: bytes) -> str | None:
    values = [value.decode("latin1") for key, value in scope.get("headers", ()) if key == name]
    return ",".join(values) if values else None


def forwarded_client(scope) -> tuple[tuple[str, int] | None, str | None]:
    """The (client, scheme) the scope should carry: the nearest address in X-Forwarded-For that is not one
    of our proxies, and X-Forwarded-Proto, when the peer is a trusted proxy; else None for each."""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = scope.get("client")
    if not networks or not peer or not _is_trusted(peer[0], networks):
        return None, None
    client = None
    forwarded_for = _header(scope, b"x-forwarded-for")
    if forwarded_for:
        chain = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
        # Right to left: each trusted hop vouches for the one before it; the first untrusted one is the client.
        untrusted = [entry for entry in reversed(chain) if not _is_trusted(entry, networks)]
        address = untrusted[0] if untrusted else (chain[0] if chain else None)
        if address:
            client = (address, 0)
    scheme = None
    proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
    if proto in ("http", "https"):
        secure = proto == "https"
        scheme = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
    return client, scheme


class TrustedProxyMiddleware:
    def __init__(self, app):
        self.app = app

    def __getattr__(self, name):
        # The wrapped router's attributes (its application_mapping) stay reachable through the wrapper.
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            client, scheme = forwarded_client(scope)
            if client is not None or scheme is not None:
                scope = dict(scope)
                if client is not None:
                    scope["client"] = client
                if scheme is not None:
                    scope["scheme"] = scheme
        return await self.app(scope, receive, send)
