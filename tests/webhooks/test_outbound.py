"""The outbound URL guard refuses what could reach this machine or its networks."""

import pytest

from streamlite.outbound import OutboundRefused, outbound_target


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1.2.3:8080/x",
        "http://localhost/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "http://user:pass@93.184.216.34/",
        "http:///nohost",
        "http://93.184.216.34:99999/",
        "http://no-such-host.invalid/",
    ],
)
def test_refused(settings, url):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(OutboundRefused):
        outbound_target(url)


def test_a_public_address_is_allowed_and_kept(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    target = outbound_target("https://93.184.216.34:8443/hook?x=1")
    assert (target.scheme, target.address, target.port, target.path) == (
        "https",
        "93.184.216.34",
        8443,
        "/hook?x=1",
    )


def test_loopback_is_allowed_by_the_setting(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    assert outbound_target("http://127.0.0.1:8000/").address == "127.0.0.1"
