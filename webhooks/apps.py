from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        from webhooks import receivers  # noqa: F401  (connects the reactions to lower apps' events)
