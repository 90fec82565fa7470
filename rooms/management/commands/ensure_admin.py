"""Create or reuse the local staff superuser ``admin`` and print its login."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from rooms.management.demo import ADMIN_USERNAME, admin_password_file, password_ensure, password_from_file


class Command(BaseCommand):
    help = "Create or reuse the staff superuser 'admin'; its password is kept in var/admin-password.txt."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password-file",
            type=Path,
            default=None,
            help="Where the password is kept (default: var/admin-password.txt).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        password_file = options["password_file"] or admin_password_file()
        password = password_from_file(password_file)
        admin, created = User.objects.get_or_create(
            username=ADMIN_USERNAME,
            defaults={"email": "admin@localhost.invalid", "display_name": "Admin"},
        )
        # The printed login must work: restore staff rights and the kept password if they were changed.
        if not (admin.is_staff and admin.is_superuser and admin.is_active):
            admin.is_staff = admin.is_superuser = admin.is_active = True
            admin.save(update_fields=["is_staff", "is_superuser", "is_active"])
        password_ensure(admin, password)
        self.stdout.write(f"Admin {'created' if created else 'reused'}: {ADMIN_USERNAME} / {password}")
