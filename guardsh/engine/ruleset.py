"""The compiled rule set, indexed by program, and its cache file.

The cache is an 8-byte header length, a marshalled index, then the marshalled rules of each
program at the offsets the index gives.  Loading unmarshals only the index; a program's rules
are unmarshalled when a command names that program.  The engine reads the cache; writing it is
left to the faces (``guardsh.engine.caches``).
"""
from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from guardsh.engine.globs import any_match
from guardsh.engine.model import Risk


class Program:
    """How to read one program's command line."""

    __slots__ = ("value_options", "value_globs", "flag_options", "single_dash_long", "help_flags", "whole_match_flags")

    def __init__(self, spec: dict[str, Any]) -> None:
        values = tuple(spec.get("value_options", ()))
        self.value_options = frozenset(v for v in values if "*" not in v and "?" not in v)
        self.value_globs = tuple(v for v in values if "*" in v or "?" in v)
        self.flag_options = frozenset(spec.get("flag_options", ()))
        self.single_dash_long = bool(spec.get("single_dash_long", False))
        self.help_flags = frozenset(spec.get("help_flags", ("--help",)))
        self.whole_match_flags = frozenset(spec.get("whole_match_flags", ()))


DEFAULT_PROGRAM = Program({})


class RuleSet:
    """Compiled rules, indexed by program name.

    Built from rule files (``RuleSet(data)``) or from the cache (``RuleSet.unpack``); from the
    cache, each program's rules stay marshalled until a command names that program, so a
    command pays for the rules it can match, not for all of them.
    """

    def __init__(self, data: dict[str, Any], files: list[str] | None = None) -> None:
        self.files = files or []
        self._split: dict[str, tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]] = {}
        self._blob: memoryview | None = None
        self._packed: dict[str, Any] | None = None
        self._rules: list[dict[str, Any]] | None = data["rules"]
        self.defaults: dict[str, int] = data["defaults"]
        self._specs: dict[str, Any] = dict(data["programs"])
        self.programs: dict[str, Program] = {}
        self.by_program: dict[str, list[dict[str, Any]]] = {}
        self.glob_rules: list[dict[str, Any]] = []
        self.any_rules: list[dict[str, Any]] = []
        self._glob_for: dict[str, list[dict[str, Any]]] = {}
        for rule in data["rules"]:
            progs = rule["match"].get("program")
            if progs is None:
                self.any_rules.append(rule)
            elif any("*" in p or "?" in p or "[" in p for p in progs):
                self.glob_rules.append(rule)
            else:
                for p in progs:
                    self.by_program.setdefault(p, []).append(rule)
        self.runners: dict[str, dict[str, Any]] = data.get("runners", {})
        self.env_loaders: dict[str, dict[str, Any]] = data.get("env_loaders", {})
        self.fallback: dict[str, Any] | None = data.get("fallback")
        self.other_examples: list[dict[str, Any]] = data.get("examples", [])  # runners, env loaders, fallback
        self.known = set(self.defaults) | set(self.by_program) | set(self._specs)  # not runners: the fallback still reads them
        self.with_subcommands = frozenset(
            p for r in data["rules"] if "subcommand" in r["match"] for p in r["match"].get("program", ())
        )

    def pack(self) -> dict[str, Any]:
        """The cache form: every program's rules and settings marshalled separately."""
        rules = self.rules
        return {
            "by_program": {p: marshal.dumps(_plain(r)) for p, r in self.by_program.items()},
            "glob": marshal.dumps(_plain(self.glob_rules)),
            "any": marshal.dumps(_plain(self.any_rules)),
            "all": marshal.dumps(_plain(rules)),
            "programs": {p: marshal.dumps(_plain(spec)) for p, spec in self._specs.items()},
            "defaults": _plain(self.defaults),
            "known": sorted(self.known),
            "with_subcommands": sorted(self.with_subcommands),
            "runners": _plain(self.runners),
            "env_loaders": _plain(self.env_loaders),
            "fallback": _plain(self.fallback),
        }

    @classmethod
    def unpack(cls, packed: dict[str, Any], files: list[str], blob: memoryview | None = None) -> RuleSet:
        """From the cache index; with ``blob``, values are (offset, length) into it."""
        self = cls.__new__(cls)
        self.files = files
        self._split = {}
        self._blob = blob
        self._packed = packed
        self._rules = None
        self.defaults = packed["defaults"]
        self._specs = packed["programs"]
        self.programs = {}
        self.by_program = {}
        self.glob_rules = self._load(packed["glob"])
        self.any_rules = self._load(packed["any"])
        self._glob_for = {}
        self.known = set(packed["known"])
        self.with_subcommands = frozenset(packed["with_subcommands"])
        self.runners = packed.get("runners", {})  # (the format number in the signature keeps old caches out)
        self.env_loaders = packed.get("env_loaders", {})
        self.fallback = packed.get("fallback")
        self.other_examples = []  # checked when the rules were built, not kept in the cache
        return self

    @property
    def rules(self) -> list[dict[str, Any]]:
        if self._rules is None:
            assert self._packed is not None
            self._rules = self._load(self._packed["all"])
        return self._rules

    def _load(self, ref: Any) -> Any:
        if isinstance(ref, tuple):
            assert self._blob is not None
            start, length = ref
            return marshal.loads(self._blob[start : start + length])
        return marshal.loads(ref)

    def for_program(self, name: str) -> list[dict[str, Any]]:
        found = self.by_program.get(name)
        if found is None:
            blob = self._packed["by_program"].get(name) if self._packed is not None else None
            found = self._load(blob) if blob is not None else []
            self.by_program[name] = found
        return found

    def for_subcommand(self, name: str, first: str | None) -> list[dict[str, Any]]:
        """The rules of ``name`` that can match when the first positional word is ``first``:
        a rule whose subcommand starts with literal words is skipped for any other word."""
        split = self._split.get(name)
        if split is None:
            general: list[dict[str, Any]] = []
            by_first: dict[str, list[dict[str, Any]]] = {}
            for rule in self.for_program(name):
                sub = rule["match"].get("subcommand")
                heads = sub[0] if sub else ()
                if heads and not any(c in h for h in heads for c in "*?["):
                    for h in heads:
                        by_first.setdefault(h, []).append(rule)
                else:
                    general.append(rule)
            split = self._split[name] = (general, by_first)
        general, by_first = split
        specific = by_first.get(first) if first is not None else None
        return general + specific if specific else general

    def program(self, name: str) -> Program:
        spec = self.programs.get(name)
        if spec is None:
            raw = self._specs.get(name)
            if raw is None:
                return DEFAULT_PROGRAM
            spec = Program(self._load(raw) if isinstance(raw, (bytes, tuple)) else raw)
            self.programs[name] = spec
        return spec

    def glob_for(self, name: str) -> list[dict[str, Any]]:
        """The rules whose program patterns (``mkfs.*``) match ``name``, in file order (once per name)."""
        found = self._glob_for.get(name)
        if found is None:
            if len(self._glob_for) >= 4096:
                self._glob_for.clear()
            found = self._glob_for[name] = [r for r in self.glob_rules if any_match(r["match"]["program"], name)]
        return found

    def candidates(self, name: str) -> list[dict[str, Any]]:
        found = list(self.for_program(name))
        found.extend(self.glob_for(name))
        found.extend(self.any_rules)
        return found

    def is_known(self, name: str) -> bool:
        if name in self.known:
            return True
        memo = self.__dict__.setdefault("_known_memo", {})
        found = memo.get(name)
        if found is None:
            found = memo[name] = any(any_match(r["match"]["program"], name) for r in self.glob_rules)
        return found

    def default_risk(self, name: str) -> Risk | None:
        value = self.defaults.get(name)
        return None if value is None else Risk(value)

    def by_id(self, rule_id: str) -> dict[str, Any] | None:
        for rule in self.rules:
            if rule["id"] == rule_id:
                return rule
        return None


def _plain(value: Any) -> Any:
    """Strip the line-tracking subclasses so marshal can write the data."""
    if isinstance(value, dict):
        return {sys.intern(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, str):
        return sys.intern(str(value))  # marshal writes interned strings once: a faster load
    return value


def encode_cache(sig: list[Any], packed: dict[str, Any]) -> bytes:
    """The cache file's bytes: an 8-byte header length, a marshalled index, then the marshalled
    rules of each program at the offsets the index gives."""
    blobs = bytearray()

    def put(blob: bytes) -> tuple[int, int]:
        start = len(blobs)
        blobs.extend(blob)
        return (start, len(blob))

    index = dict(packed)
    index["by_program"] = {p: put(b) for p, b in packed["by_program"].items()}
    index["programs"] = {p: put(b) for p, b in packed["programs"].items()}
    for key in ("glob", "any", "all"):
        index[key] = put(packed[key])
    head = marshal.dumps({"sig": sig, "packed": index})
    return len(head).to_bytes(8, "little") + head + bytes(blobs)


class FileBlob:
    """The per-program part of a cache file, read on demand (``blob[start:end]`` is one pread):
    a command that names one program reads its rules, not the whole file.  The open file keeps
    the inode it was opened on, so a cache replaced meanwhile cannot mix into this index."""

    __slots__ = ("_file", "_base")

    def __init__(self, file: Any, base: int) -> None:
        self._file = file
        self._base = base

    def __getitem__(self, part: slice) -> bytes:
        start, stop = part.start or 0, part.stop
        return os.pread(self._file.fileno(), stop - start, self._base + start)


def read_cache(path: str, sig: list[Any], files: list[str]) -> RuleSet | None:
    """The cached rule set, reading only the index (the rules of each program are read when
    a command names it); None when the cache is for other rule files."""
    f = open(path, "rb")  # noqa: SIM115 - kept open by the FileBlob
    try:
        n = int.from_bytes(f.read(8), "little")
        head = f.read(n)
        if len(head) != n:
            raise EOFError(f"{path}: truncated")
        index = marshal.loads(head)
        if not isinstance(index, dict) or index.get("sig") != sig:
            f.close()
            return None
    except BaseException:
        f.close()
        raise
    return RuleSet.unpack(index["packed"], files, FileBlob(f, 8 + n))  # type: ignore[arg-type]
