from django.apps import AppConfig


class VodConfig(AppConfig):
    name = "vod"

    def ready(self):
        from vod import receivers  # noqa: F401  (connects the reactions to lower apps' events)
