import os

from celery import Celery

from relay.bootsteps import RelaySupervisorStep
from streamlite import celery_signals  # noqa: F401  (connects the worker's logging and task-failure receivers)
from streams.bootsteps import LadderSupervisorStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamlite.settings")

app = Celery("streamlite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(RelaySupervisorStep)
app.steps["worker"].add(LadderSupervisorStep)
