"""Account signals: log-ins, failed log-ins and log-outs land in the activity log; a log-in brings
the saved site language; a deactivated account is announced (``user_deactivated``)."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from accounts.activity import activity_record
from accounts.middleware import LOGIN_LANGUAGE_ATTR
from accounts.models import ActivityLog
from streamlite.events import send_on_commit

# Sent on commit when an account is deactivated; kwargs: user_id. Apps holding its sockets close them.
user_deactivated = Signal()

# Long enough for any real username; a pasted essay in the login box is cut, not stored whole.
ATTEMPTED_USERNAME_MAX = 150


@receiver(user_logged_in, dispatch_uid="accounts.activity.login")
def record_login(sender, request, user, **kwargs):
    activity_record(action=ActivityLog.Action.LOGIN, user=user, request=request)


@receiver(user_logged_in, dispatch_uid="accounts.language.login")
def apply_saved_language(sender, request, user, **kwargs):
    # A saved choice beats whatever this browser was set to before the log-in (the middleware writes
    # the cookie on the response); without one the browser keeps its own.
    if request is not None and user.language:
        setattr(request, LOGIN_LANGUAGE_ATTR, user.language)


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


@receiver(user_locked_out, dispatch_uid="accounts.activity.lockout")
def record_lockout(sender, request, username, ip_address, **kwargs):
    attempted = str(username or "")[:ATTEMPTED_USERNAME_MAX]
    activity_record(
        action=ActivityLog.Action.LOCKOUT,
        user=get_user_model().objects.filter(username=attempted).first() if attempted else None,
        request=request,
        username=attempted,
    )


@receiver(user_logged_out, dispatch_uid="accounts.activity.logout")
def record_logout(sender, request, user, **kwargs):
    activity_record(action=ActivityLog.Action.LOGOUT, user=user, request=request)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.deactivated")
def send_user_deactivated(sender, instance, created, **kwargs):
    # Whatever deactivates the account (admin form, admin action, a service), its open sockets
    # were authenticated while it was active and must not outlive that.
    if not created and not instance.is_active:
        send_on_commit(user_deactivated, sender=sender, user_id=instance.pk)
