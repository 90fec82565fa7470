"""The live quality ladder's supervisor as a part of the Celery worker (registered in streamlite.celery)."""

from streamlite.worker_steps import SupervisorStep


class LadderSupervisorStep(SupervisorStep):
    supervisor_class = "streams.transcoder.LadderSupervisor"
    enabled_setting = "LADDER_SUPERVISOR"
