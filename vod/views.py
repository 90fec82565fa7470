"""The VOD page and its playlist (served by Django so that segment URLs can be signed per request)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from streamlite.media import media_serve
from vod import selectors
from vod.forms import VodEditForm
from vod.services import STORAGE_ERRORS, vod_update

# Well below the presigned URLs' lifetime (AWS_QUERYSTRING_EXPIRE), so a cached playlist never lists
# segment URLs that have already expired.
PLAYLIST_MAX_AGE_S = 300
# Short: a rung finished meanwhile is in the next player's master playlist.
MASTER_PLAYLIST_MAX_AGE_S = 10


def _render_detail(request: HttpRequest, vod, *, edit_form: VodEditForm | None = None) -> HttpResponse:
    is_owner = selectors.vod_may_change(vod=vod, user=request.user)
    context = {
        "vod": vod,
        "tags": selectors.vod_tags(vod=vod),
        "playable": selectors.vod_playable(vod=vod, user=request.user),
        "is_owner": is_owner,
    }
    if is_owner:
        context["edit_form"] = edit_form or VodEditForm(instance=vod)
    return render(request, "vod/vod_detail.html", context, status=400 if edit_form else 200)


@require_GET
def vod_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vod = selectors.vod_visible(pk=pk, user=request.user)
    if vod is None:
        raise Http404
    if not request.user.is_authenticated and not request.session.session_key:
        # Anonymous views are counted per session (POST /api/vods/<id>/view/): give the viewer one.
        request.session["vod_viewer"] = True
    return _render_detail(request, vod)


@login_required
@require_POST
def vod_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's form on the VOD page: title, description, category."""
    vod = selectors.vod_visible(pk=pk, user=request.user)
    if vod is None:
        raise Http404
    if not selectors.vod_may_change(vod=vod, user=request.user):
        raise PermissionDenied
    form = VodEditForm(request.POST, instance=vod)
    if not form.is_valid():
        return _render_detail(request, selectors.vod_visible(pk=pk, user=request.user), edit_form=form)
    vod_update(vod=vod, changes=form.cleaned_data)
    messages.success(request, _("The video was saved."))
    return redirect("vod_detail", pk=vod.pk)


def _playable_or_404(request: HttpRequest, pk: int):
    vod = selectors.vod_visible(pk=pk, user=request.user)
    if vod is None or not selectors.vod_playable(vod=vod, user=request.user):
        raise Http404
    return vod


@require_GET
def vod_playlist(request: HttpRequest, pk: int) -> HttpResponse:
    """The master playlist: rungs are added as they are made, so players starting later see more."""
    vod = _playable_or_404(request, pk)
    text = selectors.vod_master_playlist(
        vod=vod, rung_url=lambda name: reverse("vod_rung_playlist", args=[vod.pk, name])
    )
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    patch_cache_control(response, private=True, max_age=MASTER_PLAYLIST_MAX_AGE_S)
    return response


@require_GET
def vod_rung_playlist(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    vod = _playable_or_404(request, pk)
    try:
        text = selectors.vod_rung_playlist(vod=vod, name=name)
    except FileNotFoundError as missing:
        raise Http404 from missing
    except STORAGE_ERRORS:
        return HttpResponse("video store unavailable", status=503, content_type="text/plain")
    if text is None:
        raise Http404
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    patch_cache_control(response, private=True, max_age=PLAYLIST_MAX_AGE_S)
    return response


@require_GET
def vod_media(request: HttpRequest, pk: int, path: str) -> HttpResponse:
    """A locally stored file of a VOD (segment, thumbnail): only while the VOD may be played by this viewer,
    so hiding a VOD also stops segment URLs handed out before."""
    vod = selectors.vod_visible(pk=pk, user=request.user)
    if vod is None or not selectors.vod_playable(vod=vod, user=request.user):
        raise Http404
    return media_serve(request, f"vods/{pk}/{path}")
