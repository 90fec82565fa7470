"""What the relay supervisors agree on through the database: backoff after failures, orphans of a vanished
worker, and which destinations the owner's plan lets relay (the processes themselves: tests/e2e)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ActivityLog, Plan
from accounts.plans import user_plan_set
from relay import selectors, services
from relay.keys import key_encrypt
from relay.models import Destination, Playout, PlayoutError, RelayError
from rooms.models import Room
from tests.factories import RoomFactory, VodFactory

pytestmark = pytest.mark.django_db

NODE, OTHER = "worker-a@host:1", "worker-b@host:2"


def live_room(**plan_limits) -> Room:
    room = RoomFactory(status=Room.Status.LIVE)
    plan = Plan.objects.create(name=f"plan-{room.pk}", **plan_limits)
    user_plan_set(user=room.owner, plan=plan)
    return room


def destination(room: Room, name: str = "Platform") -> Destination:
    return Destination.objects.create(
        room=room, name=name, url="rtmp://203.0.113.5/live", key_encrypted=key_encrypt("platform_key_123")
    )


def wanted_pks() -> list[int]:
    return [wanted.pk for wanted in selectors.destinations_wanted()]


def startable(node: str = NODE) -> list[int]:
    wanted = selectors.destinations_wanted()
    return list(selectors.destinations_to_start(node=node, wanted=wanted).values_list("pk", flat=True))


def test_retries_wait_longer_after_each_failure_up_to_the_cap(settings):
    settings.RELAY_RETRY_BASE_S, settings.RELAY_RETRY_MAX_S = 2, 60
    assert [services.retry_delay_s(failures=n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    room = live_room(destinations_per_room=1)
    relayed = destination(room)
    for failures in (1, 2, 3):
        assert services.destination_claim(pk=relayed.pk, node=NODE) is not None
        before = timezone.now()
        services.destination_failed(pk=relayed.pk, node=NODE, error=RelayError.REFUSED)
        failed = Destination.objects.get(pk=relayed.pk)
        assert (failed.state, failed.error, failed.failures, failed.node) == (
            "error",
            "refused",
            failures,
            "",
        )
        assert failed.retry_at >= before + timedelta(seconds=services.retry_delay_s(failures=failures))
        # Not started again before its time, by this worker or another.
        assert startable(NODE) == startable(OTHER) == []
        Destination.objects.filter(pk=relayed.pk).update(retry_at=timezone.now())
        assert startable() == [relayed.pk]
    # Once data reaches the platform, the count starts over.
    services.destination_claim(pk=relayed.pk, node=NODE)
    services.destination_progress(pk=relayed.pk, node=NODE, sending=True, bitrate_kbps=2500)
    live = Destination.objects.get(pk=relayed.pk)
    assert (live.state, live.error, live.failures, live.bitrate_kbps) == ("live", "", 0, 2500)
    fails = ActivityLog.objects.filter(action="restream_fail").values_list("detail__failures", flat=True)
    assert sorted(fails) == [1, 2, 3]


def test_a_vanished_workers_relays_are_taken_over_or_cleaned_once_orphaned(settings):
    settings.RELAY_ORPHAN_S = 20
    room = live_room(destinations_per_room=2)
    kept, ended = destination(room), destination(RoomFactory(), name="Of an ended stream")
    for relayed in (kept, ended):
        assert services.destination_claim(pk=relayed.pk, node=NODE) is not None
        services.destination_progress(pk=relayed.pk, node=NODE, sending=True, bitrate_kbps=None)
    # While its worker writes it, no other worker takes it.
    assert services.destination_claim(pk=kept.pk, node=OTHER) is None
    assert services.destinations_orphans_clean(wanted=wanted_pks()) == 0

    Destination.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=21))
    assert services.destinations_orphans_clean(wanted=wanted_pks()) == 1
    cleaned = Destination.objects.get(pk=ended.pk)
    assert (cleaned.state, cleaned.node, cleaned.pid) == ("stopped", "", None)
    assert startable(OTHER) == [kept.pk]
    taken = services.destination_claim(pk=kept.pk, node=OTHER)
    assert (taken.node, taken.state) == (OTHER, "connecting")
    # The vanished worker's late report changes nothing.
    services.destination_failed(pk=kept.pk, node=NODE, error=RelayError.DROPPED)
    assert Destination.objects.get(pk=kept.pk).node == OTHER


def test_a_playout_of_a_vanished_worker_fails_as_lost(settings):
    settings.RELAY_ORPHAN_S = 20
    room = live_room(playout_hours_per_month=1)
    playout = Playout.objects.create(
        room=room, vod=VodFactory(room=room), title="Rerun", starts_at=timezone.now()
    )
    assert services.playout_claim(pk=playout.pk, node=NODE) is not None
    assert services.playouts_orphans_clean() == 0
    Playout.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=21))
    assert services.playouts_orphans_clean() == 1
    lost = Playout.objects.get(pk=playout.pk)
    assert (lost.state, lost.error, lost.node) == ("failed", PlayoutError.LOST, "")


def test_after_the_plan_expires_only_the_default_plans_destinations_relay():
    Plan.objects.filter(is_default=True).update(destinations_per_room=1)
    room = live_room(destinations_per_room=3)
    first, second, third = (destination(room, name=name) for name in ("First", "Second", "Third"))
    Destination.objects.filter(pk=second.pk).update(enabled=False)
    assert wanted_pks() == [first.pk, third.pk]

    room.owner.plan_expires_at = timezone.now() - timedelta(minutes=1)
    room.owner.save(update_fields=["plan_expires_at"])
    assert wanted_pks() == [first.pk]
    assert startable() == [first.pk]
    # A relay of the third one still running is no longer wanted: its supervisor stops it.
    services.destination_claim(pk=third.pk, node=NODE)
    assert third.pk not in wanted_pks()


def test_a_running_playout_ends_once_the_plans_hours_of_the_month_are_used(settings):
    room = live_room(playout_hours_per_month=2)
    playout = Playout.objects.create(
        room=room, vod=VodFactory(room=room), title="Looped", starts_at=timezone.now(), loop=True
    )
    assert services.playout_claim(pk=playout.pk, node=NODE) is not None
    services.playout_progress(pk=playout.pk, node=NODE, pid=1, sending=True)
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    on_air_since = max(month_start, timezone.now() - timedelta(minutes=90))
    Playout.objects.filter(pk=playout.pk).update(started_at=on_air_since)
    assert selectors.playouts_beyond_hours(pks=[playout.pk]) == set()
    if on_air_since == month_start:
        pytest.skip("the month began less than 90 minutes ago")
    Plan.objects.filter(pk=room.owner.plan_id).update(playout_hours_per_month=1)
    assert selectors.playouts_beyond_hours(pks=[playout.pk]) == {playout.pk}
    services.playout_finished(pk=playout.pk, node=NODE, error=PlayoutError.HOURS)
    assert Playout.objects.get(pk=playout.pk).error == "hours"
