"""Shell-style glob matching for rule patterns (``fnmatch`` imports too much for the hot path)."""
from __future__ import annotations


# pattern -> its parts between ``*`` when ``*`` is its only special character (the common rule
# shapes ``x*``, ``*x``, ``*x*``: matched with startswith/find, no recursion), else None
_STAR_PARTS: dict[str, tuple[str, ...] | None] = {}


def gmatch(pattern: str, text: str) -> bool:
    """Shell-style glob: ``*``, ``?``, ``[abc]``, ``[!abc]``, ``[a-z]``; no special ``/``."""
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return pattern == text
    try:
        parts = _STAR_PARTS[pattern]
    except KeyError:
        parts = _STAR_PARTS[pattern] = None if "?" in pattern or "[" in pattern else tuple(pattern.split("*"))
    if parts is None:
        return _gmatch(pattern, 0, text, 0)
    first, last = parts[0], parts[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    at, stop = len(first), len(text) - len(last)
    for middle in parts[1:-1]:
        if middle:
            at = text.find(middle, at, stop)
            if at < 0:
                return False
            at += len(middle)
    return True


def _gmatch(p: str, i: int, t: str, j: int) -> bool:
    np, nt = len(p), len(t)
    while i < np:
        c = p[i]
        if c == "*":
            while i < np and p[i] == "*":
                i += 1
            if i == np:
                return True
            for k in range(j, nt + 1):
                if _gmatch(p, i, t, k):
                    return True
            return False
        if j >= nt:
            return False
        if c == "?":
            i += 1
            j += 1
            continue
        if c == "[":
            end = p.find("]", i + 2)
            if end < 0:
                if t[j] != "[":
                    return False
                i += 1
                j += 1
                continue
            body = p[i + 1 : end]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            hit = False
            k = 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    if body[k] <= t[j] <= body[k + 2]:
                        hit = True
                    k += 3
                else:
                    if body[k] == t[j]:
                        hit = True
                    k += 1
            if hit == negate:
                return False
            i = end + 1
            j += 1
            continue
        if c != t[j]:
            return False
        i += 1
        j += 1
    return j == nt


# id(patterns) -> (patterns, the literal patterns as a set, the others): a tuple or frozenset of
# patterns (rules keep theirs as tuples, for the life of the rule set) is split once, then a word
# is one set lookup plus a gmatch per wildcard pattern.  The entry holds the patterns object
# itself, so its id cannot be reused by another object while the entry exists; lists (mutable)
# are not cached.
_SPLIT: dict[int, tuple[tuple[str, ...] | frozenset[str], frozenset[str], tuple[str, ...]]] = {}
_SPLIT_MAX = 8192


def any_match(patterns: tuple[str, ...] | frozenset[str] | list[str], text: str) -> bool:
    entry = _SPLIT.get(id(patterns))
    if entry is None or entry[0] is not patterns:
        if type(patterns) is not tuple and type(patterns) is not frozenset:
            for p in patterns:
                if gmatch(p, text):
                    return True
            return False
        entry = _split(patterns)
    if text in entry[1]:
        return True
    for p in entry[2]:
        if gmatch(p, text):
            return True
    return False


def any_in(patterns: tuple[str, ...] | frozenset[str] | list[str], texts: set[str] | frozenset[str]) -> bool:
    """Does any of ``texts`` match any of ``patterns``?  (``any(any_match(patterns, t) for t in texts)``)"""
    entry = _SPLIT.get(id(patterns))
    if entry is None or entry[0] is not patterns:
        if type(patterns) is not tuple and type(patterns) is not frozenset:
            return any(gmatch(p, t) for t in texts for p in patterns)
        entry = _split(patterns)
    if not entry[1].isdisjoint(texts):
        return True
    for p in entry[2]:
        for t in texts:
            if gmatch(p, t):
                return True
    return False


def _split(patterns: tuple[str, ...] | frozenset[str]) -> tuple[tuple[str, ...] | frozenset[str], frozenset[str], tuple[str, ...]]:
    literal = frozenset(p for p in patterns if "*" not in p and "?" not in p and "[" not in p)
    entry = (patterns, literal, tuple(p for p in patterns if p not in literal))
    if len(_SPLIT) >= _SPLIT_MAX:
        _SPLIT.clear()
    _SPLIT[id(patterns)] = entry
    return entry
