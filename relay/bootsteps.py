"""The relay supervisor as a part of the Celery worker (registered in streamlite.celery)."""

from streamlite.worker_steps import SupervisorStep


class RelaySupervisorStep(SupervisorStep):
    supervisor_class = "relay.supervisor.RelaySupervisor"
    enabled_setting = "RELAY_SUPERVISOR"
