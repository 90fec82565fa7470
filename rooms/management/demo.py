"""What the demo commands share: the well-known logins of a local install and their password files."""

import secrets
from pathlib import Path

from django.conf import settings

ADMIN_USERNAME = "admin"
DEMO_USERNAME = "demo"


def admin_password_file() -> Path:
    return Path(settings.VAR_DIR) / "admin-password.txt"


def demo_password_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-password.txt"


def password_from_file(path: Path) -> str:
    """The password kept in ``path``, generated there on first use so later runs print the same login."""
    if path.exists():
        password = path.read_text().strip()
        if password:
            return password
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    # Only the operator's account may read it: it unlocks a staff login.
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def password_ensure(user, password: str) -> bool:
    """Give ``user`` this password unless it already has it; returns whether it changed."""
    if user.check_password(password):
        return False
    user.set_password(password)
    user.save(update_fields=["password"])
    return True
