from celery import shared_task
from django.core.management import call_command


@shared_task
def blacklisted_tokens_flush() -> None:
    """Drop outstanding and blacklisted refresh tokens past their expiry: they can no longer be used anyway."""
    call_command("flushexpiredtokens")


@shared_task
def plans_expire() -> int:
    from accounts.plans import plans_expire as expire

    return expire()
