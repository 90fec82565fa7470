"""What the machine's ffmpeg can encode: the quality ladder needs an H.264 encoder that Debian's ffmpeg has,
but a self-built one may lack it."""

import functools
import subprocess

LADDER_VIDEO_ENCODER = "libx264"
ENCODERS_TIMEOUT_S = 20


@functools.cache
def ffmpeg_encoders() -> frozenset[str]:
    """The encoder names ``ffmpeg -encoders`` lists (empty when ffmpeg is missing), asked once per process."""
    try:
        listing = subprocess.run(
            ["ffmpeg", "-hide_banner", "-encoders"],  # noqa: S607 - Debian's ffmpeg on the PATH
            capture_output=True,
            text=True,
            timeout=ENCODERS_TIMEOUT_S,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    # Lines look like " V....D libx264   libx264 H.264 / AVC ...", after a legend ending in "------".
    _legend, _sep, table = listing.partition("------")
    return frozenset(line.split()[1] for line in table.splitlines() if len(line.split()) > 1)


def ladder_encoder_available() -> bool:
    return LADDER_VIDEO_ENCODER in ffmpeg_encoders()
