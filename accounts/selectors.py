from accounts.models import User


def user_active(*, username: str) -> User | None:
    return User.objects.filter(is_active=True, username=username).first()
