from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"

    def ready(self):
        from streams import receivers  # noqa: F401  (connects the reactions to lower apps' events)
