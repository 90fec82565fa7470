from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from streams.ingest import rtmp_config_render


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "Write the nginx-rtmp config (deploy/nginx-rtmp.conf.template) for the current settings."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            default=settings.VAR_DIR / "nginx" / "nginx.conf",
            help="config file to write",
        )

    def handle(self, *args, output: Path, **options):
        path = rtmp_config_render(output=output)
        self.stdout.write(str(path))
