"""The quality ladder: the renditions made below the source for adaptive playback, live and for VODs.
The source itself is always the top rung and is never transcoded."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    name: str  # what the player's quality menu shows, e.g. "720p"
    height: int
    video_kbps: int
    audio_kbps: int


DEFAULT_LADDER = (
    Rung("1080p", 1080, 4500, 128),
    Rung("720p", 720, 2500, 128),
    Rung("480p", 480, 1000, 96),
    Rung("360p", 360, 600, 64),
)


def ladder_rungs(*, source_height: int) -> list[Rung]:
    """The rungs to transcode for a source of ``source_height`` lines: those strictly below it, highest
    first (never upscaled; the source is the top rung)."""
    return sorted((r for r in DEFAULT_LADDER if r.height < source_height), key=lambda r: -r.height)
