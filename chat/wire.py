"""Room frames written to uvicorn's transport as ready-made websocket frames.

A room frame goes to every socket of the room. Through ASGI, each ``websocket.send`` encodes the text,
frames it and joins the pieces again in the server's sans-I/O writer, once per socket: at 2,000 viewers
that per-socket Python was most of a web process's time (docs/benchmarks.md). A server-to-client frame
is not masked, so its bytes are the same for every socket: they are built once per frame here and
written to each socket's transport as they are.

Only for uvicorn's websockets-sansio protocol (what ``make run`` serves with), only while the connection
is open and its transport takes more (else the socket sends through ASGI as before, which waits)."""

import struct

from channels.sessions import InstanceSessionWrapper
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # another ASGI server: every frame goes through ASGI
    WebSocketsSansIOProtocol = None


def frame_bytes(text: str) -> bytes:
    """``text`` as one unmasked, final websocket text frame (RFC 6455 §5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Wire:
    """Direct writes to one accepted uvicorn websocket."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol) -> None:
        self._protocol = protocol

    def write(self, data: bytes) -> bool:
        """Write a ready frame now; False when it cannot go this way (closing, or the transport's buffer
        is full and the ASGI send must wait for it)."""
        protocol = self._protocol
        if (
            not protocol.handshake_complete
            or protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(data)
        return True


def wire_of(send) -> Wire | None:
    """The direct writer behind an ASGI ``send`` callable, when it is uvicorn's websockets-sansio one (seen
    through Channels' session middleware, whose wrapper acts on HTTP responses only)."""
    owner = getattr(send, "__self__", None)
    while isinstance(owner, InstanceSessionWrapper):
        owner = getattr(owner.real_send, "__self__", None)
    if WebSocketsSansIOProtocol is not None and isinstance(owner, WebSocketsSansIOProtocol):
        return Wire(owner)
    return None
