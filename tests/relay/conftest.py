import pytest

from tests.api.conftest import _fast_password_hashing, api, auth_api  # noqa: F401


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
