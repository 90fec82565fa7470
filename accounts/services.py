import logging
import unicodedata
from collections.abc import Callable

from confusable_homoglyphs import confusables
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import SiteSettings, StreamerApplication, User
from streamlite.text import INVISIBLE

logger = logging.getLogger(__name__)

# The settings row always has this key, so concurrent first reads meet on one row instead of making two.
SITE_SETTINGS_PK = 1
# How long a cached row may outlive a change that bypassed SiteSettings.save (a queryset update) or raced it.
SITE_SETTINGS_CACHE_S = 10


def site_settings_get() -> SiteSettings:
    """The one settings row, created on first use with the deployment's initial value."""
    row, _created = SiteSettings.objects.get_or_create(
        pk=SITE_SETTINGS_PK,
        defaults={
            "streamers_need_approval": settings.STREAMERS_NEED_APPROVAL,
            "email_verification_required": settings.EMAIL_VERIFICATION_REQUIRED,
        },
    )
    return row


def site_settings_cached() -> SiteSettings:
    """The settings row for readers on hot paths (every publish): from the shared cache, which a save of
    the row empties (SiteSettings.save)."""
    row = cache.get(SiteSettings.CACHE_KEY)
    if row is None:
        row = site_settings_get()
        cache.set(SiteSettings.CACHE_KEY, row, SITE_SETTINGS_CACHE_S)
    return row


def user_may_stream(*, user: User) -> bool:
    """Anyone may stream unless the site asks streamers to apply; then staff and approved applicants."""
    if not site_settings_cached().streamers_need_approval:
        return True
    if user.is_staff:
        return True
    return StreamerApplication.objects.filter(user=user, status=StreamerApplication.Status.APPROVED).exists()


def streamer_application_submit(*, user: User, message: str) -> StreamerApplication:
    """Ask staff for the right to stream; one pending application per user at a time."""
    if StreamerApplication.objects.filter(user=user, status=StreamerApplication.Status.APPROVED).exists():
        raise ValidationError(_("You may already stream."), code="already_approved")
    # A TextField's max_length binds only forms, so the service holds the line for every caller.
    limit = StreamerApplication._meta.get_field("message").max_length
    if len(message) > limit:
        raise ValidationError(
            _("Keep it to %(limit)d characters or fewer."), code="message_too_long", params={"limit": limit}
        )
    application = StreamerApplication(user=user, message=message)
    try:
        # The partial unique constraint decides between two submits racing each other.
        with transaction.atomic():
            application.save()
    except IntegrityError:
        raise ValidationError(
            _("Your application is already waiting for staff."), code="already_pending"
        ) from None
    return application


@transaction.atomic
def streamer_application_decide(
    *, application: StreamerApplication, approve: bool, by: User, note: str = ""
) -> StreamerApplication:
    """Approve or reject a pending application once; a decided one stays as it was decided."""
    locked = StreamerApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status != StreamerApplication.Status.PENDING:
        raise ValidationError(_("This application was already decided."), code="already_decided")
    locked.status = StreamerApplication.Status.APPROVED if approve else StreamerApplication.Status.REJECTED
    locked.staff_note = note
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "staff_note", "decided_by", "decided_at", "updated_at"])
    return locked


def signup_allowed(*, ip_address: str | None) -> bool:
    """Count one sign-up attempt of this address; False once it is over SIGNUP_RATE_PER_HOUR this hour."""
    key = f"accounts:signups:{ip_address or 'unknown'}"
    # add() starts the hour's window once; incr() counts atomically in Redis across processes.
    cache.add(key, 0, timeout=60 * 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between the two calls
        cache.set(key, 1, timeout=60 * 60)
        count = 1
    return count <= settings.SIGNUP_RATE_PER_HOUR


def username_skeleton(username: str) -> str:
    """The Latin look-alike of a name (Cyrillic а → a), case folded: names with one skeleton read the same."""
    found = confusables.is_confusable(username, preferred_aliases=["latin"], greedy=True) or []
    latin = {item["character"]: item["homoglyphs"][0]["c"] for item in found if item["homoglyphs"]}
    return "".join(latin.get(char, char) for char in username).casefold()


def username_check(*, username: str, exclude_pk: int | None = None) -> None:
    """Refuse a name with invisible or compatibility characters, one mixing scripts to imitate another
    name, and one that reads like an existing user's; raises ValidationError on ``username``."""
    if INVISIBLE.search(username) or unicodedata.normalize("NFKC", username) != username:
        raise ValidationError(
            {"username": _("Use plain letters and digits: no invisible or full-width characters.")},
            code="username_characters",
        )
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    skeleton = username_skeleton(username)
    if confusables.is_dangerous(username) or (
        skeleton != username.casefold() and others.filter(username__iexact=skeleton).exists()
    ):
        raise ValidationError(
            {"username": _("This username looks like another user's. Please choose another.")},
            code="username_confusable",
        )


@transaction.atomic
def user_register(*, username: str, email: str, password: str, display_name: str = "") -> User:
    """Open an account; a username or e-mail taken in any letter case is refused as a field error."""
    username_check(username=username)
    email = User.objects.normalize_email(email)
    taken = {}
    if User.objects.filter(username__iexact=username).exists():
        taken["username"] = _("A user with that username already exists.")
    if User.objects.filter(email__iexact=email).exists():
        taken["email"] = _("A user with that e-mail address already exists.")
    if taken:
        raise ValidationError(taken)
    user = User(username=username, email=email, display_name=display_name)
    user.set_password(password)
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        # The unique constraints decide between two registrations racing for the same name.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(_("That username or e-mail address was just taken."), code="taken") from None
    return user


def profile_update(
    *, user: User, display_name: str | None = None, bio: str | None = None, language: str | None = None
) -> User:
    """Change the public profile text or the site language; None leaves a field as it is."""
    given = (("display_name", display_name), ("bio", bio), ("language", language))
    changes = {name: value for name, value in given if value is not None}
    for name, value in changes.items():
        setattr(user, name, value)
    others = [field.name for field in User._meta.fields if field.name not in changes]
    user.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    if changes:
        user.save(update_fields=list(changes))
    return user


EMAIL_CHANGE_SALT = "accounts.email-change"
EMAIL_CHANGE_MAX_AGE_S = 2 * 24 * 3600


def _email_taken(*, email: str, by_other_than: User) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=by_other_than.pk).exists()


def email_change_request(*, user: User, new_email: str, confirm_url: Callable[[str], str]) -> str:
    """Mail a link to ``new_email``; the account's address changes only when that link is opened, so
    nobody moves an account to an address they cannot read. Returns the normalised address."""
    new_email = User.objects.normalize_email(new_email)
    if new_email.lower() == user.email.lower():
        raise ValidationError({"email": _("That is your address already.")})
    if _email_taken(email=new_email, by_other_than=user):
        raise ValidationError({"email": _("A user with that e-mail address already exists.")})
    # The current address rides along: once it changed, the same link cannot change it again.
    token = signing.dumps({"user": user.pk, "from": user.email, "to": new_email}, salt=EMAIL_CHANGE_SALT)
    context = {"user": user, "new_email": new_email, "link": confirm_url(token)}
    send_mail(
        subject=_("Confirm your new e-mail address on StreamLite"),
        message=render_to_string("accounts/email_change_email.txt", context),
        from_email=None,
        recipient_list=[new_email],
    )
    return new_email


def email_change_confirm(*, token: str) -> User:
    """Apply the change a mailed link carries; refused when it is too old, used, or the address got taken."""
    invalid = ValidationError(_("This link does not work any more: it was used already or is too old."))
    try:
        change = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE_S)
    except signing.BadSignature:
        raise invalid from None
    user = User.objects.filter(pk=change.get("user"), is_active=True).first()
    if user is None or user.email != change.get("from"):
        raise invalid
    if _email_taken(email=change["to"], by_other_than=user):
        raise ValidationError(_("Another account took that address in the meantime."))
    user.email = change["to"]
    user.email_verified = True  # the link was opened from that inbox
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError:
        raise ValidationError(_("Another account took that address in the meantime.")) from None
    return user


EMAIL_VERIFY_SALT = "accounts.email-verify"
EMAIL_VERIFY_MAX_AGE_S = 7 * 24 * 3600


def email_verification_send(*, user: User, confirm_url: Callable[[str], str]) -> None:
    """Mail the account's address a link that proves the reader owns it."""
    token = signing.dumps({"user": user.pk, "email": user.email}, salt=EMAIL_VERIFY_SALT)
    context = {"user": user, "link": confirm_url(token)}
    send_mail(
        subject=_("Confirm your e-mail address on StreamLite"),
        message=render_to_string("accounts/email_verify_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def email_verification_confirm(*, token: str) -> User:
    """Mark the address a mailed link names as confirmed; refused when too old or the address changed."""
    invalid = ValidationError(_("This link does not work any more: it is too old or your address changed."))
    try:
        data = signing.loads(token, salt=EMAIL_VERIFY_SALT, max_age=EMAIL_VERIFY_MAX_AGE_S)
    except signing.BadSignature:
        raise invalid from None
    user = User.objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None or user.email != data.get("email"):
        raise invalid
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user


def email_verification_after_signup(*, user: User, confirm_url: Callable[[str], str]) -> bool | None:
    """Mail a new account its confirmation link when the site requires confirmed addresses: None when it
    does not, else whether the mail went out (a mail server that is down must not undo a sign-up)."""
    if not site_settings_cached().email_verification_required:
        return None
    try:
        email_verification_send(user=user, confirm_url=confirm_url)
    except Exception:
        logger.warning("verification mail to user %s failed", user.pk, exc_info=True)
        return False
    return True
