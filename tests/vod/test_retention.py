"""VOD retention by plan: a VOD older than its owner's plan keeps VODs is deleted by the beat job; a plan
without a retention, and VODs still processing, keep theirs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Plan
from accounts.plans import user_plan_set
from tests.factories import RoomFactory, UserFactory, VodFactory
from vod.models import Vod
from vod.tasks import vods_retention_apply

pytestmark = pytest.mark.django_db


def vod_aged(owner, days: int, status=Vod.Status.READY) -> Vod:
    vod = VodFactory(room=RoomFactory(owner=owner), status=status)
    Vod.objects.filter(pk=vod.pk).update(created_at=timezone.now() - timedelta(days=days))
    return vod


def kept(*vods: Vod) -> set[int]:
    return set(Vod.objects.filter(pk__in=[v.pk for v in vods]).values_list("pk", flat=True))


def test_vods_past_the_plan_retention_are_deleted_and_the_rest_kept():
    short = Plan.objects.create(name="short", vod_retention_days=7)
    forever = Plan.objects.create(name="forever", vod_retention_days=None)
    on_short, on_forever = UserFactory(), UserFactory()
    user_plan_set(user=on_short, plan=short)
    user_plan_set(user=on_forever, plan=forever)
    old, fresh, processing = (
        vod_aged(on_short, 8),
        vod_aged(on_short, 6),
        vod_aged(on_short, 9, Vod.Status.PROCESSING),
    )
    ancient = vod_aged(on_forever, 400)

    assert vods_retention_apply() == 1

    assert kept(old, fresh, processing, ancient) == {fresh.pk, processing.pk, ancient.pk}


def test_an_expired_plan_falls_back_to_the_default_plans_retention():
    Plan.objects.filter(is_default=True).update(vod_retention_days=30)
    long = Plan.objects.create(name="long", vod_retention_days=365)
    lapsed, current, planless = UserFactory(), UserFactory(), UserFactory()
    user_plan_set(user=lapsed, plan=long, expires_at=timezone.now() - timedelta(days=1))
    user_plan_set(user=current, plan=long, expires_at=timezone.now() + timedelta(days=1))
    lapsed_vod, current_vod, planless_vod = (
        vod_aged(lapsed, 40),
        vod_aged(current, 40),
        vod_aged(planless, 40),
    )

    assert vods_retention_apply() == 2

    assert kept(lapsed_vod, current_vod, planless_vod) == {current_vod.pk}


def test_the_seeded_plans_keep_every_vod_until_staff_set_a_retention():
    assert not Plan.objects.exclude(vod_retention_days=None).exists()
    old = vod_aged(UserFactory(), 3000)

    assert vods_retention_apply() == 0

    assert kept(old) == {old.pk}
