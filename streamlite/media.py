"""Local media (uploads, VOD files) served by the site itself, DEBUG or not: `make run` has no web server in
front of it. With S3 configured the store serves them and these routes are not installed."""

import mimetypes
import warnings

from django.conf import settings
from django.http import HttpRequest
from django.views.static import serve

# Debian's mime.types maps .ts to Qt Linguist files; players need the HLS types.
mimetypes.add_type("video/mp2t", ".ts")
mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
# Files are read in a worker thread chunk by chunk under ASGI: expected here, not worth a log line each.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")


def media_serve(request: HttpRequest, path: str):
    """A file under MEDIA_ROOT (read per request: tests and deployments move it), 404 when missing."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)
