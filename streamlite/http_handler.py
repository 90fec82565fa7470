"""Django's ASGI handler for the site's HTTP requests, with everything sync in a request done in one thread
hop, on a thread kept from earlier requests.

Every HTTP view of the site is sync (the ORM) and every middleware can run sync, while most cannot run
async without hops of their own: Django 5.2's MiddlewareMixin calls each process_request/process_response
through sync_to_async, WhiteNoise 6 is sync-only. Under Django's ASGIHandler a trivial request crossed
threads a dozen times and started and joined a thread; each crossing copies the request's context vars
both ways (asgiref), which is where the time went (docs/benchmarks.md, "Pages on one uvicorn process").
Here the stack runs as under WSGI, in one call on one thread, together with request_started and, for a
response already in memory, its close (request_finished): one hop per request instead of three.
"""

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

# Threads kept for the next requests once idle; a burst beyond them gets new ones (as Django does for
# every request), so a slow client holding a thread never makes the others wait for one.
IDLE_THREADS_KEPT = 16


class SiteHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        # The sync chain: _respond calls it in the request's thread.
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Django starts and joins a thread per request (a ThreadSensitiveContext of its own); the
        # request's thread-sensitive calls share this one, kept for later requests.
        thread = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="http")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_THREADS_KEPT:
                self._idle.append(thread)
            else:
                thread.shutdown(wait=False)

    def _respond(self, scope, body_file) -> HttpResponseBase:
        """What Django's handle does in three hops around the view, in the request's thread at once."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            # Its content is bytes in memory already: the send below needs nothing that close releases.
            response.close()
        return response

    async def handle(self, scope, receive, send):
        """Django 5.2's ASGIHandler.handle with its sync steps in _respond; a streamed response is
        closed after it is sent, and a client leaving mid-request cancels the sending as there."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))

        async def process_request():
            response = await sync_to_async(self._respond)(scope, body_file)
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            if response.streaming:
                await sync_to_async(response.close)()
        body_file.close()
