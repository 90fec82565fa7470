"""Every sentence of the site has a translation: fresh catalogues made from the current source (Python,
templates and JavaScript) leave no msgstr empty and none fuzzy, the header included.

This is what a translator's "done" means; it fails while new sentences wait for their translations."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_Hans", "ko", "vi")
DOMAINS = ("django", "djangojs")
# Folders that are not the project's source: tools, built files, data, the tests' own sample sentences.
NOT_SOURCE = (".git", ".venv", "node_modules", "staticfiles", "var", "media", "test-artifacts", "__pycache__")
MAKEMESSAGES_IGNORE = ("tests/*", "bench/*", "static/vendor/*")
FUZZY_FLAG = re.compile(r"^#,.*\bfuzzy\b", flags=re.M)


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory) -> Path:
    """A copy of the source with makemessages run over it for every language and both domains."""
    copy = tmp_path_factory.mktemp("i18n") / "src"
    shutil.copytree(REPO_ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE, "*.mo"), symlinks=True)
    env = {**os.environ, "DEBUG": "1", "SECRET_KEY": "makemessages-only-secret-key-of-32-bytes"}
    languages = [arg for locale in LOCALES for arg in ("-l", locale)]
    ignores = [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    for domain in DOMAINS:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-d",
                domain,
                *languages,
                *ignores,
                "--no-obsolete",
                "-v0",
            ],
            cwd=copy,
            env=env,
            check=True,
            timeout=300,
        )
    return copy / "locale"


def entries(po_text: str) -> list[str]:
    """The entries of msgattrib's output, one string each (comments, msgid and msgstr lines)."""
    return [block for block in re.split(r"\n\s*\n", po_text.strip()) if block.strip()]


def is_header(entry: str) -> bool:
    return re.search(r'^msgid ""\nmsgstr ""', entry, flags=re.M) is not None and "msgctxt" not in entry


def msgattrib(*args: str) -> str:
    return subprocess.run(["msgattrib", *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_no_sentence_is_left_untranslated(fresh_catalogues, locale, domain):
    po = fresh_catalogues / locale / "LC_MESSAGES" / f"{domain}.po"
    assert po.exists(), f"makemessages made no {po.name} for {locale}"
    untranslated = [
        e for e in entries(msgattrib("--untranslated", "--no-obsolete", str(po))) if not is_header(e)
    ]
    assert not untranslated, f"{len(untranslated)} untranslated in {locale}/{domain}.po:\n\n" + "\n\n".join(
        untranslated[:20]
    )


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_no_translation_is_fuzzy_header_included(fresh_catalogues, locale, domain):
    po = fresh_catalogues / locale / "LC_MESSAGES" / f"{domain}.po"
    # msgattrib keeps the header in its output either way: only entries flagged fuzzy count.
    fuzzy = [e for e in entries(msgattrib("--only-fuzzy", "--no-obsolete", str(po))) if FUZZY_FLAG.search(e)]
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {locale}/{domain}.po:\n\n" + "\n\n".join(fuzzy[:20])
