"""The clip page and its playlist (served by Django so that segment URLs can be signed per request)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from clips import selectors, services
from clips.models import Clip

# Well below the presigned URLs' lifetime (AWS_QUERYSTRING_EXPIRE): a cached playlist never lists
# segment URLs that have already expired.
PLAYLIST_MAX_AGE_S = 300


def clip_page_context(request: HttpRequest, clip: Clip) -> dict:
    return {
        "clip": clip,
        "may_rename": services.clip_may_rename(clip=clip, user=request.user),
        "may_delete": services.clip_may_delete(clip=clip, user=request.user),
    }


@require_GET
def clip_detail(request: HttpRequest, slug: str) -> HttpResponse:
    clip = selectors.clip_by_slug(slug=slug)
    if clip is None:
        raise Http404
    if not request.user.is_authenticated and not request.session.session_key:
        # Anonymous views are counted per session: give the viewer one.
        request.session["clip_viewer"] = True
    return render(request, "clips/clip_detail.html", clip_page_context(request, clip))


@require_GET
def clip_playlist(request: HttpRequest, slug: str) -> HttpResponse:
    clip = selectors.clip_by_slug(slug=slug)
    if clip is None or clip.status != Clip.Status.READY:
        raise Http404
    try:
        text = selectors.clip_playlist(clip=clip)
    except FileNotFoundError as missing:
        raise Http404 from missing
    except services.STORAGE_ERRORS:
        return HttpResponse("video store unavailable", status=503, content_type="text/plain")
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    patch_cache_control(response, public=True, max_age=PLAYLIST_MAX_AGE_S)
    return response
