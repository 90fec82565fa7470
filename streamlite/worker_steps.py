"""A supervisor thread as a part of the Celery worker: started with the pool, stopped before it."""

import os

from celery import bootsteps


class SupervisorStep(bootsteps.StartStopStep):
    """Runs ``supervisor_class`` (a dotted path; it has start() and stop()) when ``enabled_setting`` is on."""

    requires = {"celery.worker.components:Pool"}
    supervisor_class = ""
    enabled_setting = ""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.supervisor = None

    def start(self, worker):
        from django.conf import settings
        from django.utils.module_loading import import_string

        if getattr(settings, self.enabled_setting):
            self.supervisor = import_string(self.supervisor_class)(node=f"{worker.hostname}:{os.getpid()}")
            self.supervisor.start()

    def stop(self, worker):
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
