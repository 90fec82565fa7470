import pytest

HOOK_SECRET = "test-hook-secret"


@pytest.fixture
def hook_settings(settings):
    """What the hook tests of the on_publish paths assume: their secret, and the relay's port and app."""
    settings.RTMP_HOOK_SECRET = HOOK_SECRET
    settings.RTMP_PORT = 1935
    settings.RTMP_HLS_APP = "hls"
    return settings
