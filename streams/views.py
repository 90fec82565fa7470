"""The streamer dashboard: one page about the signed-in user's own room (the URL never names a room)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.services import streamer_application_submit, user_may_stream
from chat.forms import EmoteForm
from chat.models import Emote
from chat.selectors import emote_uses_in_room, emotes_of_room
from chat.services import (
    chat_room_ban_lift,
    emote_create,
    emote_delete,
    room_chat_rules_update,
    room_moderator_add,
    room_moderator_remove,
)
from rooms.pagination import paginate
from rooms.selectors import stream_key_active
from rooms.services import room_create, room_update, stream_key_reset
from streams import dashboard_selectors as selectors
from streams.forms import (
    ChatSettingsForm,
    ModeratorAddForm,
    RoomCreateForm,
    RoomEditForm,
    StreamerApplicationForm,
)
from streams.selectors import publish_refusal_reason
from streams.services import stream_stats_refresh
from streams.trends import TREND_DAYS, channel_trends, trend_charts


def _must_apply(user: User) -> bool:
    # user_may_stream is True whenever the site does not ask streamers to apply.
    return not user_may_stream(user=user)


def _trend_days(request: HttpRequest) -> int:
    asked = request.GET.get("trends", "")
    return int(asked) if asked in {str(days) for days in TREND_DAYS} else TREND_DAYS[0]


def _render_dashboard(request: HttpRequest, **bound_forms) -> HttpResponse:
    """The whole dashboard; a failed form submission passes its bound form to show its errors."""
    user = request.user
    room = selectors.dashboard_room(owner=user)
    context: dict = {"room": room, "must_apply": _must_apply(user)}
    if context["must_apply"]:
        context["application"] = selectors.streamer_application_latest(user=user)
        context["apply_form"] = bound_forms.get("apply_form") or StreamerApplicationForm()
    if room is None:
        if not context["must_apply"]:
            context["create_form"] = bound_forms.get("create_form") or RoomCreateForm()
        return render(request, "dashboard/index.html", context)

    key = stream_key_active(room=room)
    trends = channel_trends(room=room, days=_trend_days(request))
    context.update(
        trends=trends,
        trend_day_choices=TREND_DAYS,
        trend_charts=trend_charts(trends),
        rtmp_url=settings.RTMP_PUBLIC_URL,
        stream_key=key.secret if key else "",
        live_stream=selectors.stream_live(room=room),
        refusal_reason=publish_refusal_reason(room=room),
        edit_form=bound_forms.get("edit_form") or RoomEditForm(instance=room),
        history=paginate(request, selectors.streams_past(room=room)),
        chat_form=bound_forms.get("chat_form") or ChatSettingsForm.for_room(room),
        moderator_form=bound_forms.get("moderator_form") or ModeratorAddForm(),
        moderators=selectors.room_moderators(room=room),
        chat_bans=selectors.room_bans_active(room=room),
        emote_form=bound_forms.get("emote_form") or EmoteForm(),
        emotes=_emotes_with_uses(room),
    )
    return render(request, "dashboard/index.html", context)


def _emotes_with_uses(room) -> list[tuple[Emote, int]]:
    uses = emote_uses_in_room(room_id=room.pk)
    return [(emote, uses.get(emote.pk, 0)) for emote in emotes_of_room(room_id=room.pk)]


def _own_room_or_404(user: User):
    room = selectors.dashboard_room(owner=user)
    if room is None:
        raise Http404(_("You have no room yet."))
    return room


# never_cache: the page carries the stream key, which no browser or proxy cache may keep.
@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request)


@never_cache
@login_required
@require_POST
def room_create_view(request: HttpRequest) -> HttpResponse:
    if _must_apply(request.user):
        raise PermissionDenied(_("Your application to stream has not been approved yet."))
    form = RoomCreateForm(request.POST)
    if form.is_valid():
        try:
            room_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your room is ready. Point OBS at the server and key below."))
            return redirect("dashboard")
    return _render_dashboard(request, create_form=form)


@never_cache
@login_required
@require_POST
def room_edit_view(request: HttpRequest) -> HttpResponse:
    room = _own_room_or_404(request.user)
    form = RoomEditForm(request.POST, request.FILES, instance=room)
    if form.is_valid():
        # The form already put the cleaned values on the instance, a cleared cover as an empty file.
        room_update(room=room, changes={field: getattr(form.instance, field) for field in form.changed_data})
        messages.success(request, _("Your room was saved."))
        return redirect("dashboard")
    return _render_dashboard(request, edit_form=form)


@login_required
@require_POST
def stream_key_reset_view(request: HttpRequest) -> HttpResponse:
    stream_key_reset(room=_own_room_or_404(request.user), by=request.user)
    messages.success(request, _("Your stream key was reset: paste the new key into OBS."))
    return redirect("dashboard")


@never_cache
@login_required
@require_POST
def streamer_apply_view(request: HttpRequest) -> HttpResponse:
    if not _must_apply(request.user):
        return redirect("dashboard")
    form = StreamerApplicationForm(request.POST)
    if form.is_valid():
        try:
            streamer_application_submit(user=request.user, message=form.cleaned_data["message"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your application was sent. Staff will decide soon."))
            return redirect("dashboard")
    return _render_dashboard(request, apply_form=form)


@never_cache
@login_required
@require_POST
def chat_settings_view(request: HttpRequest) -> HttpResponse:
    room = _own_room_or_404(request.user)
    form = ChatSettingsForm(request.POST)
    if form.is_valid():
        try:
            room_chat_rules_update(room=room, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your chat settings were saved."))
            return redirect("dashboard")
    return _render_dashboard(request, chat_form=form)


@never_cache
@login_required
@require_POST
def moderator_add_view(request: HttpRequest) -> HttpResponse:
    room = _own_room_or_404(request.user)
    form = ModeratorAddForm(request.POST)
    if form.is_valid():
        moderator = form.cleaned_data["username"]
        try:
            room_moderator_add(room=room, user=moderator, by=request.user)
        except ValidationError as error:
            form.add_error("username", error)
        else:
            messages.success(request, _("%(name)s now moderates your chat.") % {"name": moderator.username})
            return redirect("dashboard")
    return _render_dashboard(request, moderator_form=form)


@login_required
@require_POST
def moderator_remove_view(request: HttpRequest, username: str) -> HttpResponse:
    room = _own_room_or_404(request.user)
    moderator = get_object_or_404(room.moderators, username=username)
    room_moderator_remove(room=room, user=moderator, by=request.user)
    messages.success(request, _("%(name)s no longer moderates your chat.") % {"name": moderator.username})
    return redirect("dashboard")


@login_required
@require_POST
def chat_ban_lift_view(request: HttpRequest, username: str) -> HttpResponse:
    room = _own_room_or_404(request.user)
    banned = get_object_or_404(User, username=username)
    chat_room_ban_lift(room=room, user=banned, by=request.user)
    messages.success(request, _("%(name)s may chat in your room again.") % {"name": banned.username})
    return redirect("dashboard")


@login_required
@require_GET
def stream_viewers_view(request: HttpRequest, pk: int) -> JsonResponse:
    """The points of one of the user's own streams' viewers chart."""
    stream = selectors.stream_of_owner(owner=request.user, pk=pk)
    if stream is None:
        raise Http404
    return JsonResponse({"stream": stream.pk, "samples": selectors.viewer_series(stream=stream)})


@login_required
@require_GET
@never_cache
def dashboard_status_view(request: HttpRequest) -> JsonResponse:
    """The status card's figures, polled by the dashboard while live."""
    room = _own_room_or_404(request.user)
    stream = selectors.stream_live(room=room)
    if stream is not None:
        stream = stream_stats_refresh(stream=stream)
    return JsonResponse(
        {
            "status": room.status,
            "viewer_count": room.viewer_count,
            "started_at": stream.started_at.isoformat() if stream else None,
            "bitrate_kbps": stream.bitrate_kbps if stream else None,
            "resolution": stream.resolution if stream else "",
            # The live viewers chart reads this stream's samples: it starts without a reload.
            "viewers_url": reverse("dashboard_stream_viewers", args=[stream.pk]) if stream else None,
        }
    )


@never_cache
@login_required
@require_POST
def emote_add_view(request: HttpRequest) -> HttpResponse:
    room = _own_room_or_404(request.user)
    form = EmoteForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            emote_create(room=room, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Your emote :%(name)s: is ready.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("dashboard")
    return _render_dashboard(request, emote_form=form)


@login_required
@require_POST
def emote_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    room = _own_room_or_404(request.user)
    emote = get_object_or_404(Emote.objects.select_related("room"), pk=pk, room=room)
    emote_delete(emote=emote, by=request.user)
    messages.success(request, _("The emote :%(name)s: is removed.") % {"name": emote.name})
    return redirect("dashboard")
