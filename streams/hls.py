"""The live HLS output the ingest writes under HLS_ROOT: its playlist and the fragments it lists.

Read by the worker on the ingest's machine (or one sharing HLS_ROOT): live previews take a frame of the
newest fragment, live clips copy the last fragments. Fragments are never re-encoded here.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Fragment:
    path: Path
    duration_s: float


def live_fragments(*, public_name: str) -> list[Fragment]:
    """The fragments the room's live playlist lists, oldest first; empty when there is none (yet)."""
    root = Path(os.path.realpath(settings.HLS_ROOT))
    try:
        text = (root / f"{public_name}.m3u8").read_text()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return []
    fragments, duration = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                duration = None
        elif line and not line.startswith("#"):
            path = root / line
            # Only plain names inside HLS_ROOT: the playlist is nginx's, but a path is a path.
            if duration is not None and "/" not in line and path.is_file():
                fragments.append(Fragment(path=path, duration_s=duration))
            duration = None
    return fragments


def fragments_last(fragments: list[Fragment], *, seconds: float) -> list[Fragment]:
    """The newest fragments that together last at least ``seconds`` (all of them when there are fewer)."""
    chosen, total = [], 0.0
    for fragment in reversed(fragments):
        if total >= seconds:
            break
        chosen.append(fragment)
        total += fragment.duration_s
    return list(reversed(chosen))
