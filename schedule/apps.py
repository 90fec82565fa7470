from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "schedule"

    def ready(self):
        from schedule import receivers  # noqa: F401  (links streams that go live to their scheduled entry)
