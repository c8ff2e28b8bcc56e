"""Write the cache files the engine compiled (see ``guardsh.engine.caches``).

Each file is written to a temporary name beside it and renamed into place, in a directory of
mode 0700, so a concurrent reader sees the old file or the new one, never half of one.  A
cache that cannot be written is only slower next time: failures are ignored.
"""
from __future__ import annotations

import os

from guardsh.engine import caches


def flush() -> None:
    if not caches.pending():
        return
    for path, data in caches.take().items():
        write_atomically(path, data)


def write_atomically(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
