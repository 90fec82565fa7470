from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"

    def ready(self):
        from rooms import cache  # noqa: F401  (connects the signals that outdate cached room lists)
