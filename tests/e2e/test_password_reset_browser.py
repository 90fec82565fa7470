"""Forgotten password, end to end in Chromium: the mail goes through a real SMTP server on loopback
(aiosmtpd), the test reads the link from it, and the new password logs in."""

import os
import re
import time

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from tests.e2e.conftest import free_port, running_web, shared_database_url
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import UserFactory
from tests.smtp import Inbox

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-fresh-Passphrase-42"


@pytest.fixture
def mail_site(django_db_setup, tmp_path):
    """(base URL, inbox) of a real web process whose mail goes to a real SMTP server on loopback."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"}
    try:
        with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
            yield base_url, inbox
    finally:
        smtp.stop()


def ask_for_a_link(page, base_url: str, address: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.click("text=Forgot your password?")
    page.fill("#id_email", address)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("[data-reset-sent]")


def test_a_forgotten_password_is_reset_through_the_mailed_link(mail_site, chromium):  # noqa: F811
    base_url, inbox = mail_site
    user = UserFactory(email="ann@example.com")
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    ask_for_a_link(page, base_url, "ANN@example.com")
    (message,) = inbox.wait_for(1)
    assert message["To"] == "ann@example.com"
    link = re.search(r"http://\S+/accounts/password/reset/\S+/", message.get_body(("plain",)).get_content())
    assert link, message.get_body(("plain",)).get_content()

    page.goto(link.group(0))
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.screenshot(path=str(ARTIFACTS / "password-reset-confirm.png"))
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=Your password is set")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The link works once.
    page.goto(link.group(0))
    assert page.is_visible("[data-reset-invalid]")
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", NEW_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".menu--user")
    assert errors == []


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mail_site, chromium):  # noqa: F811
    base_url, inbox = mail_site
    page = chromium.new_page()
    ask_for_a_link(page, base_url, "nobody@example.com")
    time.sleep(1)
    assert inbox.messages == []


def test_a_new_email_address_is_used_once_its_mailed_link_is_opened(mail_site, chromium):  # noqa: F811
    base_url, inbox = mail_site
    user = UserFactory(email="ann@example.com")
    client = Client()
    client.force_login(user)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.goto(f"{base_url}/accounts/profile/")
    page.fill("[data-email-change] #id_email", "ann.new@example.com")
    page.click("[data-email-change] button[type=submit]")
    page.wait_for_selector(".message--success")
    user.refresh_from_db()
    assert user.email == "ann@example.com"  # not before the link is opened

    (message,) = inbox.wait_for(1)
    assert message["To"] == "ann.new@example.com"
    link = re.search(r"http://\S+/accounts/email/confirm/\S+/", message.get_body(("plain",)).get_content())
    page.goto(link.group(0))
    assert "ann.new@example.com" in page.inner_text("[data-email-changed]")
    user.refresh_from_db()
    assert user.email == "ann.new@example.com"
    page.goto(link.group(0))
    assert page.is_visible("[data-email-change-invalid]")


def test_an_address_of_another_account_is_refused_without_mail(mail_site, chromium):  # noqa: F811
    base_url, inbox = mail_site
    UserFactory(email="taken@example.com")
    user = UserFactory()
    client = Client()
    client.force_login(user)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.goto(f"{base_url}/accounts/profile/")
    page.fill("[data-email-change] #id_email", "TAKEN@example.com")
    page.click("[data-email-change] button[type=submit]")
    assert "already exists" in page.inner_text("[data-email-change]")
    assert inbox.messages == []
