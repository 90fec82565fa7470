"""The relay supervisor as a part of the Celery worker (registered in streamlite.celery)."""

import os

from celery import bootsteps


class RelaySupervisorStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.supervisor = None

    def start(self, worker):
        from django.conf import settings

        from relay.supervisor import RelaySupervisor

        if settings.RELAY_SUPERVISOR:
            self.supervisor = RelaySupervisor(node=f"{worker.hostname}:{os.getpid()}")
            self.supervisor.start()

    def stop(self, worker):
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
