"""Connections the server makes to addresses its users give (webhooks over http(s), restream destinations
over rtmp(s)), never to this machine or its private networks unless settings.OUTBOUND_ALLOW_PRIVATE says so.

The host is resolved and checked when the URL is registered and again for every request, and the request
goes to the checked address itself (TLS still verifies the certificate for the host name), so a name that
resolves to a public address at registration and to an internal one later (DNS rebinding) reaches nothing.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

ALLOWED_SCHEMES = {"http": 80, "https": 443}
STREAM_SCHEMES = {"rtmp": 1935, "rtmps": 443}


class OutboundRefused(ValueError):
    """The URL may not be requested; the message says why, for the user who gave it."""


@dataclass(frozen=True)
class OutboundTarget:
    scheme: str
    host: str
    port: int
    address: str
    path: str


@dataclass(frozen=True)
class OutboundResponse:
    status: int


def _address_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # is_global is false for loopback, private, link-local, reserved, unspecified and shared ranges;
    # multicast addresses can be "global" yet are never a web server.
    return not address.is_global or address.is_multicast


def _scheme_refusal(schemes: dict[str, int]) -> str:
    if schemes is STREAM_SCHEMES:
        return _("Only rtmp and rtmps URLs are allowed.")
    return _("Only http and https URLs are allowed.")


def outbound_target(url: str, *, schemes: dict[str, int] = ALLOWED_SCHEMES) -> OutboundTarget:
    """Resolve and check the URL's host; raises OutboundRefused when it may not be requested."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(_("Enter a valid URL.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in schemes or not parts.hostname:
        raise OutboundRefused(_scheme_refusal(schemes))
    if parts.username or parts.password:
        raise OutboundRefused(_("URLs with a user name or password are not allowed."))
    port = port or schemes[scheme]
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundRefused(_("The host name could not be resolved.")) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    # Every address the name has must be allowed: otherwise a connection could land on the internal one.
    if not settings.OUTBOUND_ALLOW_PRIVATE and any(_address_forbidden(address) for address in addresses):
        raise OutboundRefused(_("This address is on a private or local network and is not allowed."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return OutboundTarget(scheme=scheme, host=parts.hostname, port=port, address=str(addresses[0]), path=path)


def outbound_post(url: str, *, body: bytes, headers: dict[str, str], timeout_s: float) -> OutboundResponse:
    """POST ``body`` to the checked address of ``url``; redirects are answered, not followed.

    ``timeout_s`` bounds connecting and waiting for the answer together; the answer's body is not read.
    Raises OutboundRefused, or urllib3's HTTPError subclasses when the request fails."""
    target = outbound_target(url)
    host_header = (
        target.host if target.port == ALLOWED_SCHEMES[target.scheme] else f"{target.host}:{target.port}"
    )
    timeout = urllib3.Timeout(total=timeout_s)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    with pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        status = response.status
        response.release_conn()
    return OutboundResponse(status=status)
