import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _clean_cache():
    from django.core.cache import cache

    from rooms.cache import local_copies_forget

    cache.clear()
    local_copies_forget()
    yield


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff(db):
    from tests.factories import StaffFactory

    return StaffFactory()


@pytest.fixture
def celery_eager():
    """Run Celery tasks in the test's own process, through the real task code, as a worker would."""
    from streamlite.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on loopback (aiosmtpd) receiving the site's mail; the test reads its inbox."""
    from tests.smtp import smtp_server

    with smtp_server(settings) as inbox:
        yield inbox
