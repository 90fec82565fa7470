from django.core.management.base import BaseCommand

from streams.tasks import ingest_reconcile


class Command(BaseCommand):
    help = "End live streams the ingest (nginx /stat) no longer carries; run when the ingest starts."

    def handle(self, *args, **options):
        ended = ingest_reconcile()
        self.stdout.write(f"ended {ended} stream(s) the ingest no longer carries")
