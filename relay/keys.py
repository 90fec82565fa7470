"""Destination stream keys at rest: Fernet (cryptography) with the keys of settings.RESTREAM_KEYS_SECRET."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class KeyUnreadable(Exception):
    """The stored key was encrypted with a secret no longer configured."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(secret.encode()) for secret in settings.RESTREAM_KEYS_SECRET])


def key_encrypt(key: str) -> str:
    return _fernet().encrypt(key.encode()).decode()


def key_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise KeyUnreadable from exc


def key_hint(key: str) -> str:
    """The last characters, so the owner tells keys apart; short keys show nothing."""
    return key[-4:] if len(key) >= 12 else ""
