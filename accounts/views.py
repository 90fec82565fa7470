import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts import services
from accounts.activity import activity_record, client_ip
from accounts.forms import EmailChangeForm, ProfileForm, SignupForm
from accounts.middleware import language_cookie_set
from accounts.models import ActivityLog

logger = logging.getLogger(__name__)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out log-in: the API's error shape under /api/, else a page."""
    message = _("Too many failed log-ins. Please try again in %(minutes)d minutes.") % {
        "minutes": settings.AXES_COOLOFF_TIME.total_seconds() // 60
    }
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "locked_out", "message": message, "fields": {}}}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not services.signup_allowed(ip_address=client_ip(request)):
        activity_record(action=ActivityLog.Action.SIGNUP_LIMITED, request=request)
        form.add_error(None, _("Too many sign-ups from your address. Please try again later."))
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
                activity_record(action=ActivityLog.Action.SIGNUP, user=user, request=request)
        except IntegrityError:
            # Someone registered the same name or e-mail between our check and our insert.
            form.add_error(None, _("That username or e-mail address was just taken. Please try another."))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to StreamLite, %(name)s!") % {"name": user.shown_name})
            sent = services.email_verification_after_signup(
                user=user, confirm_url=_verification_link(request)
            )
            _verification_told(request, user, sent)
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile_edit(request):
    # Always the signed-in user's own row: there is no id in the URL to point at someone else.
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        response = redirect("profile_edit")
        if "language" in form.changed_data:
            # Applies from the next page on, in this browser too (the cookie outranks the saved choice).
            language_cookie_set(response, user.language)
            if user.language:
                translation.activate(user.language)
        messages.success(request, _("Your profile is saved."))
        return response
    return _profile_edit_page(request, form=form, email_form=EmailChangeForm())


def _profile_edit_page(request, *, form, email_form, status: int = 200):
    context = {
        "form": form,
        "email_form": email_form,
        "verification_asked": not request.user.email_verified
        and services.site_settings_cached().email_verification_required,
    }
    return render(request, "accounts/profile_edit.html", context, status=status)


@login_required
@require_POST
def email_change(request):
    email_form = EmailChangeForm(request.POST)
    if email_form.is_valid():
        try:
            new_email = services.email_change_request(
                user=request.user,
                new_email=email_form.cleaned_data["email"],
                confirm_url=lambda token: request.build_absolute_uri(
                    reverse("email_change_confirm", args=[token])
                ),
            )
        except ValidationError as error:
            email_form.add_error(None, error)
        else:
            messages.success(
                request,
                _("We sent a link to %(email)s: open it to confirm the change.") % {"email": new_email},
            )
            return redirect("profile_edit")
    form = ProfileForm(instance=request.user)
    return _profile_edit_page(request, form=form, email_form=email_form, status=400)


def _verification_link(request):
    return lambda token: request.build_absolute_uri(reverse("email_verify_confirm", args=[token]))


def _verification_told(request, user, sent: bool | None) -> None:
    if sent:
        messages.info(
            request,
            _("We sent a link to %(email)s: open it to confirm your address.") % {"email": user.email},
        )
    elif sent is False:
        messages.error(request, _("We could not send the confirmation e-mail. Try again from your profile."))


@login_required
@require_POST
def email_verify(request):
    if not request.user.email_verified:
        sent = services.email_verification_after_signup(
            user=request.user, confirm_url=_verification_link(request)
        )
        _verification_told(request, request.user, sent)
    return redirect("profile_edit")


def email_verify_confirm(request, token: str):
    try:
        user = services.email_verification_confirm(token=token)
    except ValidationError as error:
        return render(request, "accounts/email_verify_confirm.html", {"error": error.messages[0]}, status=400)
    return render(request, "accounts/email_verify_confirm.html", {"email": user.email})


def email_change_confirm(request, token: str):
    try:
        user = services.email_change_confirm(token=token)
    except ValidationError as error:
        return render(request, "accounts/email_change_confirm.html", {"error": error.messages[0]}, status=400)
    return render(request, "accounts/email_change_confirm.html", {"email": user.email})


@csrf_exempt
@require_POST
def language_set(request):
    """The navigation bar's switcher: Django's set_language (cookie, redirect back), and a signed-in
    user's choice is saved so that it follows them to the next log-in on any browser.

    An anonymous switch only sets a cookie of the browser that sends it, so it asks for no CSRF token:
    the switcher then puts none in anonymous pages, which keeps them cacheable (rooms.cache). Saving to
    an account does check the token."""
    if request.user.is_authenticated:
        return _language_set_saved(request)
    return set_language(request)


@csrf_protect
def _language_set_saved(request):
    response = set_language(request)
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES):
        services.profile_update(user=request.user, language=language)
    return response
