"""The dashboard's restream page: the room's destinations, their live state, adding and switching them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.plans import user_plan
from relay import selectors, services
from relay.forms import DestinationForm, PlayoutForm
from relay.models import Playout
from streams.dashboard_selectors import dashboard_room

PLAYOUTS_SHOWN = 20


def _destination_or_404(request, pk: int):
    destination = selectors.destination_of_owner(user=request.user, pk=pk)
    if destination is None:
        raise Http404
    return destination


@never_cache
@login_required
def restream_page(request):
    room = dashboard_room(owner=request.user)
    if room is None:
        return redirect("dashboard")
    form = DestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.destination_create(
                user=request.user,
                room=room,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                key=form.cleaned_data["key"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The destination was added."))
            return redirect("restream")
    destinations = selectors.destinations_of_room(room=room)
    context = {"room": room, "form": form, "destinations": destinations, **_plan_context(request.user)}
    return render(request, "relay/restream.html", context)


def _plan_context(user) -> dict:
    return {
        "plan": user_plan(user=user),
        "plan_expires_at": user.plan_expires_at if user.plan_id else None,
        "playout_hours_used": round(selectors.playout_seconds_this_month(user=user) / 3600, 1),
    }


@never_cache
@login_required
def playout_page(request):
    room = dashboard_room(owner=request.user)
    if room is None:
        return redirect("dashboard")
    form = PlayoutForm(request.POST or None, request.FILES or None, room=room)
    if request.method == "POST" and form.is_valid():
        try:
            playout = services.playout_create(
                user=request.user,
                room=room,
                vod=form.cleaned_data["vod"],
                upload=form.cleaned_data["upload"],
                title=form.cleaned_data["title"],
                starts_at=form.cleaned_data["starts_at"],
                loop=form.cleaned_data["loop"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if playout.state == Playout.State.PENDING:
                messages.success(request, _("Your playout waits for staff approval."))
            else:
                messages.success(request, _("Your playout is scheduled."))
            return redirect("playout")
    playouts = selectors.playouts_of_room(room=room)[:PLAYOUTS_SHOWN]
    context = {"room": room, "form": form, "playouts": playouts, **_plan_context(request.user)}
    return render(request, "relay/playout.html", context)


@require_POST
@login_required
def playout_cancel_view(request, pk: int):
    playout = selectors.playout_of_owner(user=request.user, pk=pk)
    if playout is None:
        raise Http404
    services.playout_cancel(playout=playout)
    return redirect("playout")


@require_POST
@login_required
def destination_toggle_view(request, pk: int):
    destination = _destination_or_404(request, pk)
    services.destination_update(destination=destination, enabled=not destination.enabled)
    return redirect("restream")


@require_POST
@login_required
def destination_delete_view(request, pk: int):
    services.destination_delete(destination=_destination_or_404(request, pk))
    messages.success(request, _("The destination was deleted."))
    return redirect("restream")
