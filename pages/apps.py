from django.apps import AppConfig


class PagesConfig(AppConfig):
    """Pages that show several apps' data at once; above every domain app, imported by none."""

    name = "pages"
