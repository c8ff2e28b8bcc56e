"""SHA-256 without ``hashlib``'s import cost (~2 ms): guardsh hashes on the path of every command."""
from __future__ import annotations


def sha256_hex(data: bytes) -> str:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]  # 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # 3.12+
        except ImportError:
            from hashlib import sha256  # type: ignore[no-redef,assignment,unused-ignore]
    return sha256(data).hexdigest()  # type: ignore[no-any-return,unused-ignore]
