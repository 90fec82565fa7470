import os
import time

import pytest

# Set in each pytest-xdist worker; scripts/test.sh runs the whole suite on several (tests/parallel.py).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def pytest_configure(config):
    # Workers sharing one Redis would flush each other's cache and hear each other's chat.
    if getattr(config.option, "numprocesses", None) and not config.pluginmanager.has_plugin("tests.parallel"):
        raise pytest.UsageError("pytest -n needs -p tests.parallel (scripts/test.sh passes it)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under xdist (--dist loadgroup): the tests of a module sharing a module-scoped fixture (an nginx, a
    a web process, a site of several nodes) go to one worker, which starts it once; and the end-to-end tests,
    the long ones, come first within pytest-django's order (which sorts after this hook, stably) so
    that short tests fill the workers up at the end."""
    if not XDIST_WORKER:
        return
    for item in items:
        fixture_defs = getattr(item, "_fixtureinfo", None)
        scopes = {
            d.scope for defs in (fixture_defs.name2fixturedefs.values() if fixture_defs else ()) for d in defs
        }
        if "module" in scopes and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(autouse=True, scope="session")
def _flush_tries_again_after_a_deadlock():
    """A transactional test's database is emptied by one TRUNCATE of every table; a server of the test still
    finishing a write (a hook nginx calls when an encoder is killed) can hold one table while waiting for
    another, and PostgreSQL then aborts one side. The flush is tried again once that writer is done."""
    from django.core.management.base import CommandError
    from django.db import OperationalError
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        for attempt in range(1, 4):
            try:
                return original(self)
            except CommandError as error:
                deadlock = isinstance(error.__cause__, OperationalError) and "deadlock" in str(
                    error.__cause__
                )
                if not deadlock or attempt == 3:
                    raise
                time.sleep(1)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original


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
