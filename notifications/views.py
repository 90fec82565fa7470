from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications.apis import MAX_ID
from notifications.selectors import follows_of, notifications_of
from notifications.services import notifications_mark_read
from rooms.pagination import paginate


@login_required
def notification_list(request):
    return render(
        request,
        "notifications/list.html",
        {"page_obj": paginate(request, notifications_of(user=request.user))},
    )


class MarkReadForm(forms.Form):
    # Left out: every unread notification of the user.
    id = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    next = forms.CharField(required=False, max_length=2000)


@login_required
@require_POST
def notifications_read(request):
    form = MarkReadForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("That is not a notification."))
    notification_id = form.cleaned_data["id"]
    notifications_mark_read(user=request.user, ids=None if notification_id is None else [notification_id])
    back = form.cleaned_data["next"]
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("notifications")


def following(request):
    """Streamers the user follows, live ones first; anonymous visitors get a link to log in."""
    if not request.user.is_authenticated:
        return render(request, "notifications/following.html", {})
    return render(
        request,
        "notifications/following.html",
        {"page_obj": paginate(request, follows_of(user=request.user))},
    )
