"""Garbage collection for the serving processes (web and chat).

What is alive once the application is loaded (Django, the project's modules) lives as long as the
process: a full collection walking it all again stalled the event loop 0.1–1.4 s under load (the chat
fan-out, a burst of on_publish hooks). Frozen, it is skipped; young collections come far apart.
"""

import gc

# Collections of the youngest generation this far apart. With CPython's 700, the objects of each chat
# fan-out (a future and a task step per socket) outlived enough young collections to be promoted, and
# the full collections that followed, walking the thousand sockets' objects, stalled the event loop:
# every message of the moment waited (chat fan-out benchmark, docs/benchmarks.md).
GC_YOUNG_THRESHOLD = 50_000
_frozen_at: set[str] = set()


def gc_tune(stage: str) -> None:
    """Freeze what is alive at ``stage``, once per stage ("loaded": the application imported; "chat": the
    first chat socket, with the hub and what the first requests loaded), and space young collections."""
    if stage in _frozen_at:
        return
    _frozen_at.add(stage)
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)
