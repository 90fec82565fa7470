import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamlite.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs the app registry)

from streamlite.gc_tuning import gc_tune  # noqa: E402
from streamlite.proxy import TrustedProxyMiddleware  # noqa: E402
from streamlite.routing import websocket_urlpatterns  # noqa: E402
from streamlite.ws_auth import websocket_auth_stack  # noqa: E402
from streams.hooks import rtmp_hooks_apart  # noqa: E402

application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            "http": rtmp_hooks_apart(django_asgi_app),
            "websocket": websocket_auth_stack(URLRouter(websocket_urlpatterns)),
        }
    )
)
# Everything the application needs is loaded: later full collections skip it (streamlite.gc_tuning).
gc_tune("loaded")
