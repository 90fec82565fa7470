#!/usr/bin/env python3
"""Writes SECRET_KEY and RTMP_HOOK_SECRET, freshly drawn, into an env file readable by its owner only,
unless the file is already there: `make run` reuses it so sessions, tokens and nginx's hook URLs survive
a restart. Standard library only: it runs before settings can load (they refuse to start without them).

    scripts/make_secrets.py var/secrets.env
"""

import os
import secrets
import sys
from pathlib import Path

NAMES = ("SECRET_KEY", "RTMP_HOOK_SECRET")


def secrets_file_ensure(path: Path) -> bool:
    """Create ``path`` with new secrets when missing; returns whether it was created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{name}={secrets.token_urlsafe(48)}\n" for name in NAMES)
    try:
        # O_EXCL: two starts racing never overwrite each other's secrets; 0600 from the first byte.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return False
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} FILE")
    if secrets_file_ensure(Path(sys.argv[1])):
        print(f"generated {', '.join(NAMES)} into {sys.argv[1]}")
