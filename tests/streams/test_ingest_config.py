import subprocess

import pytest
from django.core.management import call_command

from streams.ingest import rtmp_config_render


@pytest.fixture
def rendered(settings, tmp_path):
    settings.RTMP_PORT = 19935
    settings.HLS_HTTP_PORT = 18088
    settings.RTMP_HOOK_BASE_URL = "http://127.0.0.1:8123/"
    settings.RTMP_HOOK_SECRET = "s3cret&x=1"
    settings.HLS_ROOT = str(tmp_path / "hls")
    settings.RECORDINGS_ROOT = str(tmp_path / "recordings")
    return rtmp_config_render(output=tmp_path / "nginx" / "nginx.conf")


def test_rendered_config_is_valid_for_nginx(rendered):
    result = subprocess.run(
        ["nginx", "-t", "-p", str(rendered.parent), "-c", str(rendered)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_rendered_config_carries_ports_folders_and_quoted_hook_secret(rendered, tmp_path):
    text = rendered.read_text()
    assert "listen 19935;" in text
    assert "listen 18088;" in text
    assert "on_publish http://127.0.0.1:8123/hooks/rtmp/publish?secret=s3cret%26x%3D1;" in text
    assert f"hls_path {tmp_path / 'hls'};" in text
    assert f"record_path {tmp_path / 'recordings'};" in text
    assert (tmp_path / "hls").is_dir() and (tmp_path / "recordings").is_dir()
    assert rendered.stat().st_mode & 0o077 == 0  # it holds the hook secret
    assert (rendered.parent / "error.log").stat().st_mode & 0o077 == 0  # nginx-rtmp logs keys there


def test_ingest_application_denies_play_and_hls_application_takes_loopback_publishers_only(rendered):
    live = rendered.read_text().split("application live {")[1].split("}")[0]
    hls = rendered.read_text().split("application hls {")[1].split("}")[0]
    assert "deny play all;" in live
    assert "allow publish 127.0.0.1;" in hls
    assert "deny publish all;" in hls
    assert "deny play all;" in hls


def test_command_writes_the_config_where_asked(settings, tmp_path, capsys):
    settings.HLS_ROOT = str(tmp_path / "hls")
    settings.RECORDINGS_ROOT = str(tmp_path / "recordings")
    call_command("render_rtmp_config", "--output", str(tmp_path / "out" / "nginx.conf"))
    assert (tmp_path / "out" / "nginx.conf").read_text().startswith("# nginx with Debian's RTMP module")


def test_stat_and_control_answer_loopback_and_the_listed_worker_networks(settings, tmp_path):
    settings.HLS_ROOT = str(tmp_path / "hls")
    settings.RECORDINGS_ROOT = str(tmp_path / "recordings")
    settings.INGEST_CONTROL_ALLOW = ["10.0.0.7", "192.168.4.0/24"]
    text = rtmp_config_render(output=tmp_path / "nginx" / "nginx.conf").read_text()
    for location in ("/stat", "/control"):
        block = text.split(f"location {location} {{")[1].split("}")[0]
        allows = [line.strip() for line in block.splitlines() if line.strip().startswith("allow")]
        assert allows == ["allow 127.0.0.1;", "allow 10.0.0.7/32;", "allow 192.168.4.0/24;"]
        assert "deny all;" in block


def test_a_control_allow_entry_that_is_no_address_is_refused(settings, tmp_path):
    settings.INGEST_CONTROL_ALLOW = ["all; allow 0.0.0.0/0"]
    with pytest.raises(ValueError):
        rtmp_config_render(output=tmp_path / "nginx" / "nginx.conf")


def test_the_ladder_application_takes_rungs_from_loopback_and_the_workers_and_plays_to_nobody(
    settings, tmp_path
):
    settings.HLS_ROOT = str(tmp_path / "hls")
    settings.RECORDINGS_ROOT = str(tmp_path / "recordings")
    settings.INGEST_CONTROL_ALLOW = ["10.0.0.7"]
    text = rtmp_config_render(output=tmp_path / "nginx" / "nginx.conf").read_text()
    ladder = text.split("application ladder {")[1].split("}")[0]
    allows = [line.strip() for line in ladder.splitlines() if line.strip().startswith("allow")]
    assert allows == ["allow publish 127.0.0.1;", "allow publish 10.0.0.7/32;"]
    assert "deny publish all;" in ladder and "deny play all;" in ladder
    assert f"hls_path {tmp_path / 'hls'};" in ladder and "record" not in ladder
