from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from notifications import receivers
        from streams.signals import stream_started

        stream_started.connect(receivers.on_stream_started, dispatch_uid="notifications-live-started")
