from django.db import transaction
from django.utils import timezone

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from vod.models import Vod


@transaction.atomic
def vod_hide(*, vod: Vod, by: User | None) -> Vod:
    """Take a VOD out of every listing and player; hiding a hidden VOD changes nothing."""
    changed = (
        Vod.objects.filter(pk=vod.pk)
        .exclude(status=Vod.Status.HIDDEN)
        .update(status=Vod.Status.HIDDEN, updated_at=timezone.now())
    )
    vod.status = Vod.Status.HIDDEN
    if changed:
        activity_record(action=ActivityLog.Action.MODERATION, user=by, what="vod_hide", vod_id=vod.pk)
    return vod
