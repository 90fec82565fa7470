"""Pages for other sites and for OBS: the embeddable players, the oEmbed endpoint, the overlays.

Only these pages may be framed (CSP frame-ancestors and X-Frame-Options are relaxed per response); the
site's policy keeps every other page out of frames.
"""

from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.services import site_settings_cached
from clips import selectors as clip_selectors
from clips.models import Clip
from rooms import selectors as room_selectors
from vod import selectors as vod_selectors

EMBED_WIDTH, EMBED_HEIGHT = 640, 360
OEMBED_MAX_SIDE = 4096
# Overlay options: the size of the text and how long a chat line stays (0: it stays).
OVERLAY_FONT_PX = (10, 72, 20)
OVERLAY_FADE_S = (0, 600, 30)


def frame_ancestors() -> list[str]:
    """Who may frame the embed pages: the origins staff listed in the site settings, else everyone."""
    origins = [line.strip() for line in site_settings_cached().embed_allowed_origins.splitlines()]
    return ["'self'", *[origin for origin in origins if origin]] if any(origins) else ["*"]


def _framable(response: HttpResponse) -> HttpResponse:
    # django-csp reads these per response (its csp_replace decorator sets the same attribute).
    response._csp_replace = {"frame-ancestors": frame_ancestors()}
    response.xframe_options_exempt = True
    return response


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "") in {"1", "true", "yes", "on"}


def _bounded_int(request: HttpRequest, name: str, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        return default
    return min(high, max(low, value))


@require_GET
def embed_room(request: HttpRequest, pk: int) -> HttpResponse:
    room = room_selectors.room_detail(pk=pk)
    if room is None:
        raise Http404
    context = {"room": room, "danmaku": _flag(request, "danmaku")}
    return _framable(render(request, "embeds/room.html", context))


@require_GET
def embed_vod(request: HttpRequest, pk: int) -> HttpResponse:
    vod = vod_selectors.vod_visible(pk=pk, user=request.user)
    if vod is None or not vod_selectors.vod_playable(vod=vod, user=request.user):
        raise Http404
    context = {"vod": vod, "danmaku": _flag(request, "danmaku")}
    return _framable(render(request, "embeds/vod.html", context))


@require_GET
def embed_clip(request: HttpRequest, slug: str) -> HttpResponse:
    clip = clip_selectors.clip_by_slug(slug=slug)
    if clip is None or clip.status != Clip.Status.READY:
        raise Http404
    context = {"clip": clip, "danmaku": _flag(request, "danmaku")}
    return _framable(render(request, "embeds/clip.html", context))


def _overlay(request: HttpRequest, pk: int, *, kind: str) -> HttpResponse:
    room = room_selectors.room_detail(pk=pk)
    if room is None:
        raise Http404
    context = {
        "room": room,
        "kind": kind,
        "font_px": _bounded_int(request, "font", OVERLAY_FONT_PX),
        "fade_s": _bounded_int(request, "fade", OVERLAY_FADE_S),
    }
    return _framable(render(request, "embeds/overlay.html", context))


@require_GET
def overlay_chat(request: HttpRequest, pk: int) -> HttpResponse:
    return _overlay(request, pk, kind="chat")


@require_GET
def overlay_danmaku(request: HttpRequest, pk: int) -> HttpResponse:
    return _overlay(request, pk, kind="danmaku")


def _oembed_subject(url: str) -> tuple[str, str, str, str | None] | None:
    """(title, author, embed path, thumbnail) of a page of this site named by ``url``, or None."""
    try:
        match = resolve(urlsplit(url).path or "/")
    except Resolver404:
        return None
    if match.url_name == "room_detail":
        room = room_selectors.room_detail(pk=match.kwargs["pk"])
        if room is not None:
            return (
                room.title,
                room.owner.shown_name,
                reverse("embed_room", args=[room.pk]),
                room.live_preview_url,
            )
    elif match.url_name == "vod_detail":
        vod = vod_selectors.vods_visible(user=AnonymousUser()).filter(pk=match.kwargs["pk"]).first()
        if vod is not None:
            return (
                vod.title,
                vod.room.owner.shown_name,
                reverse("embed_vod", args=[vod.pk]),
                (vod_selectors.vod_thumbnail_url(vod)),
            )
    elif match.url_name == "clip_detail":
        clip = clip_selectors.clips_ready().filter(slug=match.kwargs["slug"]).first()
        if clip is not None:
            return (
                clip.title,
                clip.room.owner.shown_name,
                reverse("embed_clip", args=[clip.slug]),
                (clip_selectors.clip_thumbnail_url(clip)),
            )
    return None


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "invalid" if status == 400 else "not_found", "message": message,
                                   "fields": {}}}, status=status)  # fmt: skip


@require_GET
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed (https://oembed.com) for room, VOD and clip pages: a "video" with the embed page's iframe."""
    url = request.GET.get("url", "")
    if request.GET.get("format", "json") != "json":
        return JsonResponse(
            {"error": {"code": "not_implemented", "message": _("Only JSON is offered."), "fields": {}}},
            status=501,
        )
    if not url or len(url) > 2000:
        return _error(400, _("Give the address of a room, VOD or clip page as url."))
    if urlsplit(url).netloc not in {request.get_host(), ""}:
        return _error(404, _("That address is not a page of this site."))
    subject = _oembed_subject(url)
    if subject is None:
        return _error(404, _("That address is not a room, VOD or clip of this site."))
    title, author, embed_path, thumbnail = subject
    width = _bounded_int(request, "maxwidth", (1, OEMBED_MAX_SIDE, EMBED_WIDTH))
    height = min(_bounded_int(request, "maxheight", (1, OEMBED_MAX_SIDE, EMBED_HEIGHT)), width * 9 // 16)
    src = request.build_absolute_uri(embed_path)
    body = {
        "version": "1.0",
        "type": "video",
        "provider_name": "StreamLite",
        "provider_url": request.build_absolute_uri("/"),
        "title": title,
        "author_name": author,
        "width": width,
        "height": height,
        "html": (
            f'<iframe src="{src}" width="{width}" height="{height}" frameborder="0" '
            f'allow="autoplay; fullscreen" allowfullscreen title="{escape(title)}"></iframe>'
        ),
    }
    if thumbnail:
        body["thumbnail_url"] = request.build_absolute_uri(thumbnail)
    return JsonResponse(body)
