"""Cache files the engine has compiled afresh and would like kept.

The engine is pure: it reads its caches (compiled rules and config) but never writes a file.  What it rebuilt waits here, by path, until a face calls
``guardsh.cachefiles.flush()``, which writes each one atomically.  A face that never flushes
(a test, a tool) only pays for the rebuild again next time.
"""
from __future__ import annotations

_PENDING: dict[str, bytes] = {}


def offer(path: str, data: bytes) -> None:
    """Ask for ``data`` to be written to ``path`` (the latest offer for a path wins)."""
    _PENDING[path] = data


def take() -> dict[str, bytes]:
    """Everything offered since the last take, and forget it."""
    pending = dict(_PENDING)
    _PENDING.clear()
    return pending


def pending() -> bool:
    return bool(_PENDING)
