"""Schedule pages: the streamer's schedule page, "Remind me", and the iCalendar feed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import user_active
from schedule import selectors, services
from schedule.forms import ScheduledStreamForm
from schedule.ical import schedule_calendar


@login_required
def schedule_page(request):
    form = ScheduledStreamForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheduled_stream_create(
                room=form.cleaned_data["room"],
                title=form.cleaned_data["title"],
                starts_at=form.cleaned_data["starts_at"],
                category=form.cleaned_data["category"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The stream is on your schedule."))
            return redirect("schedule_dashboard")
    entries = selectors.schedule_upcoming(owner=request.user)
    return render(request, "schedule/dashboard.html", {"form": form, "entries": entries})


@require_POST
@login_required
def scheduled_stream_delete_view(request, pk: int):
    scheduled = selectors.scheduled_stream_of(pk=pk)
    if scheduled is None or scheduled.room.owner_id != request.user.pk:
        raise Http404
    services.scheduled_stream_delete(scheduled=scheduled)
    messages.success(request, _("The scheduled stream was removed."))
    return redirect("schedule_dashboard")


@require_POST
@login_required
def reminder_toggle(request, pk: int):
    scheduled = selectors.scheduled_stream_of(pk=pk)
    if scheduled is None:
        raise Http404
    on = request.POST.get("on") == "1"
    try:
        services.reminder_set(scheduled=scheduled, user=request.user, on=on)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("We will remind you 10 minutes before it starts.") if on else _("The reminder is off."),
        )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("profile", username=scheduled.room.owner.username)


def schedule_ics(request, username: str):
    owner = user_active(username=username)
    if owner is None:
        raise Http404
    body = schedule_calendar(
        owner=owner, entries=selectors.schedule_upcoming(owner=owner), now=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{owner.username}-schedule.ics"'
    return response
