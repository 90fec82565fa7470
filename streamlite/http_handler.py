"""Django's ASGI handler for the site's HTTP requests, with the middleware stack and the view run in one
thread hop on a thread kept from earlier requests.

Every HTTP view of the site is sync (the ORM) and every middleware can run sync, while most cannot run
async without hops of their own: Django 5.2's MiddlewareMixin calls each process_request/process_response
through sync_to_async, WhiteNoise 6 is sync-only. Under Django's ASGIHandler a trivial request crossed
threads a dozen times and started and joined a thread (docs/benchmarks.md, "Pages on one uvicorn process").
Here the stack runs as under WSGI, in one call, on one thread for the whole request.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

# Threads kept for the next requests once idle; a burst beyond them gets new ones (as Django does for
# every request), so a slow client holding a thread never makes the others wait for one.
IDLE_THREADS_KEPT = 16


class SiteHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        # The sync chain: get_response_async below calls it once in the request's thread.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response)(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Django starts and joins a thread per request (a ThreadSensitiveContext of its own); the
        # request's thread-sensitive calls (request_started, the stack, response.close) share this one.
        thread = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="http")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_THREADS_KEPT:
                self._idle.append(thread)
            else:
                thread.shutdown(wait=False)
