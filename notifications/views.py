from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import user_active
from notifications.apis import MAX_ID
from notifications.emails import email_unsubscribe, email_unsubscribe_follow
from notifications.selectors import follows_of, notifications_of
from notifications.services import notifications_mark_read
from rooms.pagination import paginate
from rooms.services import follow_alerts_set


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


# The signed link is the credential (no session, no CSRF token): mail clients POST to it for one-click
# unsubscribe (RFC 8058). A GET only asks, because mail scanners open links on their own.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    template = "notifications/email_unsubscribe.html"
    try:
        if request.method == "POST":
            return render(request, template, {"done": True, "follow": email_unsubscribe(token=token)})
        follow = email_unsubscribe_follow(token)
    except ValidationError as error:
        return render(request, template, {"error": error.messages[0]}, status=400)
    return render(request, template, {"follow": follow, "done": follow is None})


class EmailAlertsForm(forms.Form):
    email_live = forms.BooleanField(required=False)
    email_vod = forms.BooleanField(required=False)


@login_required
@require_POST
def following_email_alerts(request, username: str):
    """The following page's e-mail checkboxes for one streamer."""
    form = EmailAlertsForm(request.POST)
    followed = user_active(username=username)
    if followed is None or not form.is_valid():
        return HttpResponseBadRequest(_("You do not follow this user."))
    if follow_alerts_set(follower=request.user, followed=followed, alerts=form.cleaned_data) is None:
        return HttpResponseBadRequest(_("You do not follow this user."))
    messages.success(request, _("Your e-mail alerts are saved."))
    return redirect("following")
