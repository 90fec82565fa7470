"""The quality ladder: the renditions made below the source for adaptive playback, live and for VODs.
The source itself is always the top rung and is never transcoded. Staff set the rungs in the admin
(SiteSettings.ladder)."""

from dataclasses import dataclass

from accounts.models import ladder_parse
from accounts.services import site_settings_cached


@dataclass(frozen=True)
class Rung:
    name: str  # what the player's quality menu shows, e.g. "720p"
    height: int
    video_kbps: int
    audio_kbps: int


def ladder_configured() -> list[Rung]:
    """Every rung staff set, highest first."""
    rungs = [Rung(*fields) for fields in ladder_parse(site_settings_cached().ladder)]
    return sorted(rungs, key=lambda r: -r.height)


def ladder_rungs(*, source_height: int) -> list[Rung]:
    """The rungs to transcode for a source of ``source_height`` lines: those strictly below it, highest
    first (never upscaled; the source is the top rung)."""
    return [rung for rung in ladder_configured() if rung.height < source_height]
