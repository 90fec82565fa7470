import pytest
from django.core.exceptions import ValidationError

from accounts.models import SiteSettings, StreamerApplication
from accounts.services import (
    site_settings_get,
    streamer_application_decide,
    streamer_application_submit,
    user_may_stream,
)
from tests.factories import StaffFactory, UserFactory


def set_approval(required: bool) -> None:
    row = site_settings_get()
    row.streamers_need_approval = required
    row.save()


@pytest.mark.django_db
@pytest.mark.parametrize("initial", [True, False])
def test_site_settings_start_from_the_deployment_setting(settings, initial):
    settings.STREAMERS_NEED_APPROVAL = initial
    assert site_settings_get().streamers_need_approval is initial


@pytest.mark.django_db
def test_site_settings_is_one_row_that_staff_changes_outlive_the_setting(settings):
    settings.STREAMERS_NEED_APPROVAL = False
    set_approval(True)
    assert site_settings_get().streamers_need_approval is True
    assert SiteSettings.objects.count() == 1


@pytest.mark.django_db
def test_everyone_may_stream_when_approval_is_off(user):
    set_approval(False)
    assert user_may_stream(user=user) is True


@pytest.mark.django_db
def test_only_staff_and_approved_streamers_may_stream_when_approval_is_on(user):
    set_approval(True)
    staff, approved, rejected = StaffFactory(), UserFactory(), UserFactory()
    for applicant, approve in ((approved, True), (rejected, False)):
        application = streamer_application_submit(user=applicant, message="please")
        streamer_application_decide(application=application, approve=approve, by=staff)

    assert user_may_stream(user=user) is False
    assert user_may_stream(user=staff) is True
    assert user_may_stream(user=approved) is True
    assert user_may_stream(user=rejected) is False


@pytest.mark.django_db
def test_an_applicant_waits_with_one_pending_application(user):
    streamer_application_submit(user=user, message="first")
    with pytest.raises(ValidationError) as error:
        streamer_application_submit(user=user, message="second")
    assert error.value.code == "already_pending"
    assert StreamerApplication.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_rejected_applicant_may_apply_again_but_an_approved_one_need_not(user, staff):
    first = streamer_application_submit(user=user, message="first")
    streamer_application_decide(application=first, approve=False, by=staff, note="no schedule")
    second = streamer_application_submit(user=user, message="second")
    streamer_application_decide(application=second, approve=True, by=staff)
    with pytest.raises(ValidationError) as error:
        streamer_application_submit(user=user, message="third")
    assert error.value.code == "already_approved"


@pytest.mark.django_db
def test_an_over_long_application_is_a_validation_error(user):
    with pytest.raises(ValidationError):
        streamer_application_submit(user=user, message="x" * 2001)
    assert not StreamerApplication.objects.exists()


@pytest.mark.django_db
def test_deciding_records_who_when_and_the_note(user, staff):
    application = streamer_application_submit(user=user, message="hi")
    decided = streamer_application_decide(application=application, approve=True, by=staff, note="welcome")
    application.refresh_from_db()
    assert decided.status == application.status == StreamerApplication.Status.APPROVED
    assert application.decided_by == staff
    assert application.decided_at is not None
    assert application.staff_note == "welcome"


@pytest.mark.django_db
def test_a_decided_application_cannot_be_decided_again(user, staff):
    application = streamer_application_submit(user=user, message="hi")
    streamer_application_decide(application=application, approve=False, by=staff)
    with pytest.raises(ValidationError):
        streamer_application_decide(application=application, approve=True, by=staff)
    application.refresh_from_db()
    assert application.status == StreamerApplication.Status.REJECTED
