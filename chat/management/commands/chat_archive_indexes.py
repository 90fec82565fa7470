from django.core.management.base import BaseCommand

from chat.archive import archive_indexes_ensure


class Command(BaseCommand):
    help = "Create the MongoDB indexes of the chat archive (safe to run again)."

    def handle(self, *args, **options):
        archive_indexes_ensure()
        self.stdout.write(self.style.SUCCESS("Chat archive indexes are in place."))
