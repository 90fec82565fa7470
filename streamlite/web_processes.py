"""The site's web processes, as `make run` starts them: uvicorn, one process per core, each with a listening
socket of its own on the same port (SO_REUSEPORT), so the kernel spreads connections evenly between them.

uvicorn's own ``--workers`` shares one listening socket: whichever process wakes first accepts, and under
a burst of chat viewers connecting one process often ended up with ~65 % of the sockets, and with them
the room's slowest deliveries (docs/benchmarks.md, chat at the middle tier). A chat socket stays where it
landed, so an even spread is what lets two processes share a room.

    python -m streamlite.web_processes --host 127.0.0.1 --port 8000 --workers 2

When any process exits, the others are stopped and this exits too (scripts/run.sh then stops the site).
"""

import argparse
import contextlib
import os
import signal
import socket
import sys
import traceback

import uvicorn

APP = "streamlite.asgi:application"
BACKLOG = 2048  # uvicorn's own


def server_config(host: str, port: int) -> uvicorn.Config:
    """uvicorn's options for the site: no lifespan (Django has none to run), no per-message deflate (each
    chat frame is serialised once for every socket, compression would run once per socket), no proxy
    headers (streamlite.proxy trusts only TRUSTED_PROXIES) and no access line of its own (it would print
    the RTMP hooks' secret in the query string; streamlite.access logs each request instead)."""
    return uvicorn.Config(
        APP,
        host=host,
        port=port,
        lifespan="off",
        ws_per_message_deflate=False,
        proxy_headers=False,
        access_log=False,
        backlog=BACKLOG,
    )


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on one address, each to be served by one process."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # SO_REUSEPORT alone would let a second site (or anything else setting it) share the port silently:
    # a port that anything holds is refused here, as a plain bind would be.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    sockets = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        # Listening before the processes start: the kernel spreads connections over every socket from the
        # first one on, and a process still starting accepts its share when it is ready.
        sock.listen(BACKLOG)
        sockets.append(sock)
    return sockets


def serve(host: str, port: int, sock: socket.socket) -> None:
    uvicorn.Server(server_config(host, port)).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        sockets = listening_sockets(args.host, args.port, args.workers)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    if args.workers == 1:
        serve(args.host, args.port, sockets[0])
        return 0

    children = []
    for own in sockets:
        pid = os.fork()
        if pid == 0:
            # The child serves its own socket until told to stop (uvicorn handles SIGTERM and SIGINT).
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            for other in sockets:
                if other is not own:
                    other.close()
            code = 1
            try:
                serve(args.host, args.port, own)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)
    for sock in sockets:
        sock.close()  # each is its child's now

    asked_to_stop = []

    def stop(signum, _frame):
        asked_to_stop.append(signum)
        forward(signum)

    def forward(signum):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The first process to exit ends the web tier: a half-served site is worse than a clear failure.
    pid, status = os.wait()
    children.remove(pid)
    forward(signal.SIGTERM)
    for child in children:
        os.waitpid(child, 0)
    # uvicorn ends by the signal it was stopped with: that is a clean stop when it was asked for.
    return 0 if asked_to_stop else os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
