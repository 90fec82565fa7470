"""Plans (seed 003's packages): which plan applies to a user, and keeping it applied."""

from django.db import transaction
from django.utils import timezone

from accounts.activity import activity_record
from accounts.models import ActivityLog, Plan, User


def plan_default() -> Plan:
    plan = Plan.objects.filter(is_default=True).first()
    # A site whose staff removed every default still has limits: the model's own defaults.
    return plan if plan is not None else Plan(name="default")


def user_plan(*, user: User) -> Plan:
    """The user's plan while it lasts, else the default plan."""
    if user.plan_id is not None and (user.plan_expires_at is None or user.plan_expires_at > timezone.now()):
        return user.plan
    return plan_default()


@transaction.atomic
def user_plan_set(*, user: User, plan: Plan | None, expires_at=None, by: User | None = None) -> None:
    """Give ``user`` a plan (None: the default) and apply its live quota; logged in the activity log."""
    before = User.objects.filter(pk=user.pk).values_list("plan__name", flat=True).first()
    user.plan, user.plan_expires_at = plan, expires_at if plan is not None else None
    user.live_quota = user_plan(user=user).live_streams
    user.save(update_fields=["plan", "plan_expires_at", "live_quota"])
    activity_record(
        action=ActivityLog.Action.PLAN_CHANGE,
        user=user,
        before=before,
        after=plan.name if plan is not None else None,
        expires_at=expires_at.isoformat() if expires_at else None,
        by=by.pk if by is not None else None,
    )


def plan_limits_apply(*, plan: Plan) -> int:
    """After staff change a plan, its users' live quota follows; returns how many users were updated."""
    users = User.objects.filter(plan=plan).exclude(plan_expires_at__lte=timezone.now())
    if plan.is_default:
        users = users | User.objects.filter(plan__isnull=True)
    return users.exclude(live_quota=plan.live_streams).update(live_quota=plan.live_streams)


def plans_expire() -> int:
    """Users whose plan expired fall back to the default plan; returns how many."""
    expired = list(User.objects.filter(plan__isnull=False, plan_expires_at__lte=timezone.now()))
    for user in expired:
        user_plan_set(user=user, plan=None)
    return len(expired)
