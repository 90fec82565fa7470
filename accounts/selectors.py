from django.db.models import QuerySet

from accounts.models import User
from accounts.services import site_settings_cached


def user_active(*, username: str) -> User | None:
    return User.objects.filter(is_active=True, username=username).first()


def email_reachable() -> QuerySet[User]:
    """Users the site may mail alerts to: active, with an address, confirmed when the site requires it."""
    users = User.objects.filter(is_active=True).exclude(email="")
    if site_settings_cached().email_verification_required:
        users = users.filter(email_verified=True)
    return users
