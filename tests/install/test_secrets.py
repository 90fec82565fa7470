"""What `make run` starts with: secrets of its own, never a key written in the source."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import environ

from streamlite.settings.base import debug_secret

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = ("SECRET_KEY", "RTMP_HOOK_SECRET")


def settings_process(env_changes: dict, code: str) -> subprocess.CompletedProcess:
    """Python with the project's settings loaded from ``env_changes`` over this environment, minus the
    secrets the test suite runs with."""
    env = {key: value for key, value in os.environ.items() if key not in SECRET_NAMES}
    env.update(env_changes, DJANGO_SETTINGS_MODULE="streamlite.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def in_repository(text: str) -> bool:
    found = subprocess.run(["git", "grep", "-q", "-F", text], cwd=REPO_ROOT, check=False)
    return found.returncode == 0


def test_settings_refuse_to_start_without_secrets_when_debug_is_off():
    for missing in SECRET_NAMES:
        present = {name: "x" * 50 for name in SECRET_NAMES if name != missing}

        result = settings_process({"DEBUG": "0", **present}, "print(settings.SECRET_KEY)")

        assert result.returncode != 0
        assert missing in result.stderr


def test_the_secrets_drawn_for_debug_are_taken_as_they_are():
    # django-environ reads a value starting with "$" as the name of another variable: a default drawn so
    # sent a DEBUG start into endless recursion once in 50 (Django's key generator draws "$").
    env = environ.Env()
    for _ in range(1000):
        drawn = debug_secret()
        assert env.str("STREAMLITE_NO_SUCH_VARIABLE", default=drawn) == drawn


def test_debug_without_secrets_signs_with_no_key_found_in_the_repository():
    result = settings_process({"DEBUG": "1"}, "print(settings.SECRET_KEY); print(settings.RTMP_HOOK_SECRET)")

    assert result.returncode == 0, result.stderr
    secret_key, hook_secret = result.stdout.split()
    assert len(secret_key) >= 50 and len(hook_secret) >= 32
    assert not in_repository(secret_key)
    assert not in_repository(hook_secret)


def secrets_generate(path: Path) -> dict[str, str]:
    subprocess.run([sys.executable, "scripts/make_secrets.py", str(path)], cwd=REPO_ROOT, check=True)
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_generated_secrets_file_is_private_strong_and_kept(tmp_path):
    path = tmp_path / "var" / "secrets.env"

    first = secrets_generate(path)
    second = secrets_generate(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(first) == set(SECRET_NAMES)
    assert first["SECRET_KEY"] != first["RTMP_HOOK_SECRET"]
    assert all(len(value) >= 64 and not in_repository(value) for value in first.values())
    assert second == first


def test_run_script_starts_without_debug_on_postgresql_with_the_generated_secrets():
    script = (REPO_ROOT / "scripts" / "run.sh").read_text()

    assert "export DEBUG=${DEBUG:-0}" in script
    assert 'scripts/make_secrets.py "$VAR_DIR/secrets.env"' in script
    assert "--postgres" in script
