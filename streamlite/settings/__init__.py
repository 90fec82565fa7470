"""Settings read once from the environment (DESIGN §3), one module per concern; code reads ``settings.X``."""

from streamlite.settings.api import *  # noqa: F403
from streamlite.settings.base import *  # noqa: F403
from streamlite.settings.celery import *  # noqa: F403
from streamlite.settings.chat import *  # noqa: F403
from streamlite.settings.clips import *  # noqa: F403
from streamlite.settings.ingest import *  # noqa: F403
from streamlite.settings.mail import *  # noqa: F403
from streamlite.settings.operations import *  # noqa: F403
from streamlite.settings.relay import *  # noqa: F403
from streamlite.settings.schedule import *  # noqa: F403
from streamlite.settings.security import *  # noqa: F403
from streamlite.settings.storage import *  # noqa: F403
from streamlite.settings.stores import *  # noqa: F403
from streamlite.settings.vod import *  # noqa: F403
from streamlite.settings.webhooks import *  # noqa: F403
