import pytest

from tests.api.conftest import _fast_password_hashing, api, auth_api  # noqa: F401
from tests.vod.conftest import moto_server, recorded_stream, recordings_root, s3_storage  # noqa: F401


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
