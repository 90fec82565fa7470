"""Log-ins, failed log-ins and log-outs from every path (pages, admin, API) land in the activity log."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.activity import activity_record
from accounts.models import ActivityLog

# Long enough for any real username; a pasted essay in the login box is cut, not stored whole.
ATTEMPTED_USERNAME_MAX = 150


@receiver(user_logged_in, dispatch_uid="accounts.activity.login")
def record_login(sender, request, user, **kwargs):
    activity_record(action=ActivityLog.Action.LOGIN, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="accounts.activity.login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    # Only the name that was tried: the other credentials (the password) never leave this function.
    User = get_user_model()
    attempted = str(credentials.get(User.USERNAME_FIELD) or "")[:ATTEMPTED_USERNAME_MAX]
    activity_record(
        action=ActivityLog.Action.LOGIN_FAILED,
        user=User.objects.filter(username=attempted).first() if attempted else None,
        request=request,
        username=attempted,
    )


@receiver(user_logged_out, dispatch_uid="accounts.activity.logout")
def record_logout(sender, request, user, **kwargs):
    activity_record(action=ActivityLog.Action.LOGOUT, user=user, request=request)
