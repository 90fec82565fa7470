"""Child processes the workers supervise (restream relays, live transcoders)."""

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent_thread() -> None:
    """For ``preexec_fn``: runs in the forked child before exec and has the kernel kill the child when the
    thread that started it ends, so a killed worker leaves no ffmpeg behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
