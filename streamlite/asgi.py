import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamlite.settings")
# What django.core.asgi.get_asgi_application does, with the site's own HTTP handler.
django.setup(set_prefix=False)

from streamlite.http_handler import SiteHandler  # noqa: E402  (needs settings)

django_asgi_app = SiteHandler()

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
