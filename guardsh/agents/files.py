"""Agents' own files (settings, hooks, config.toml), rewritten atomically and keeping their mode."""
from __future__ import annotations

import os
import tempfile


def replace_text(path: str, text: str, new_mode: int) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place; an existing file
    keeps its mode, a new one gets ``new_mode``; missing directories are made."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = new_mode
    fd, tmp = tempfile.mkstemp(prefix=".guardsh-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
