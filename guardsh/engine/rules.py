"""Rule files: load, validate, compile, cache.

A rule file (``rules.d/*.yaml``) has three optional sections::

    programs:          # how to read a program's command line
      git: {value_options: [-C, -c], default: reversible}
    defaults:          # risk of programs no rule matches, by list
      read-only: [ls, cat, grep]
    rules:
      - id: git-push-force
        risk: destructive
        reason: ...
        match: {program: git, subcommand: push, flags: [--force, -f]}
        unless: [{flags: [--force-with-lease*]}]
        suggest: git push --force-with-lease
        examples: {hit: [git push -f], miss: [git push]}

Loading YAML is slow (PyYAML alone costs ~30 ms to import), so the validated rules are
compiled to plain tuples and dicts and cached with ``marshal``; the cache is keyed on the
size and mtime of every source file.  Every problem is a ``RuleError`` naming the file, the
line, the rule and the key.
"""
from __future__ import annotations

import marshal
import os
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from guardsh import __version__, paths
from guardsh.engine.model import Risk

CACHE_FORMAT = 5
RISKS = ("read-only", "reversible", "destructive", "catastrophic")
PATH_CLASSES = (
    "root", "critical", "system", "home", "secrets", "git-dir", "guardsh", "protected", "device",
    "workspace", "workspace-root", "outside-workspace", "temp", "regenerable", "cache", "unresolved",
)
LIST_KEYS = ("flags", "all_flags", "args", "words", "paths", "all_paths", "dest_paths", "source_paths", "redirects",
             "redirect_paths",
             "stdin_from", "assigns", "via")
MATCH_KEYS = ("program", "subcommand", "options", "stdin", "env", "args_from_stdin", "min_args") + LIST_KEYS
RULE_KEYS = ("id", "risk", "reason", "match", "unless", "suggest", "examples")
PROGRAM_KEYS = ("value_options", "flag_options", "single_dash_long", "help_flags", "default")
FILE_KEYS = ("programs", "defaults", "rules")


class RuleError(Exception):
    """A rule file is invalid; the message names file, line, rule and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- glob matching (fnmatch imports too much for the hot path) --------------------------

def gmatch(pattern: str, text: str) -> bool:
    """Shell-style glob: ``*``, ``?``, ``[abc]``, ``[!abc]``, ``[a-z]``; no special ``/``."""
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        return pattern == text
    return _gmatch(pattern, 0, text, 0)


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


def any_match(patterns: tuple[str, ...] | list[str], text: str) -> bool:
    for p in patterns:
        if gmatch(p, text):
            return True
    return False


# --- locating rule files --------------------------------------------------------------

def rule_dirs(home: str | None = None) -> list[str]:
    """Packaged rules, then /etc/guardsh/rules.d, then ``$XDG_CONFIG_HOME/guardsh/rules.d``."""
    return paths.rule_dirs(None if home is None else {**os.environ, "HOME": home})


def rule_files(dirs: list[str]) -> list[str]:
    files: list[str] = []
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        files.extend(os.path.join(d, n) for n in names if n.endswith((".yaml", ".yml")))
    return files


def signature(files: list[str]) -> list[Any]:
    sig: list[Any] = [CACHE_FORMAT, __version__, sys.version_info[:2]]
    for f in files:
        try:
            st = os.stat(f)
            sig.append((f, st.st_size, st.st_mtime_ns))
        except OSError:
            sig.append((f, -1, -1))
    return sig


# --- YAML with line numbers -----------------------------------------------------------

class LineDict(dict):  # type: ignore[type-arg]
    line = 0


class LineList(list):  # type: ignore[type-arg]
    line = 0


class LineStr(str):
    line = 0


def read_yaml(path: str) -> Any:
    """Parse YAML keeping line numbers; duplicate keys are errors, not silent overwrites."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    def mapping(loader: Any, node: Any) -> LineDict:
        result = LineDict()
        result.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise RuleError([f"{path}:{key_node.start_mark.line + 1}: duplicate key {key!r}"])
            result[key] = loader.construct_object(value_node, deep=True)
        return result

    def sequence(loader: Any, node: Any) -> LineList:
        result = LineList(loader.construct_object(n, deep=True) for n in node.value)
        result.line = node.start_mark.line + 1
        return result

    def scalar_str(loader: Any, node: Any) -> LineStr:
        result = LineStr(loader.construct_scalar(node))
        result.line = node.start_mark.line + 1
        return result

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    Loader.add_constructor("tag:yaml.org,2002:seq", sequence)
    Loader.add_constructor("tag:yaml.org,2002:str", scalar_str)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise RuleError([f"{where}: invalid YAML: {getattr(e, 'problem', e)}"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise RuleError([f"{path}: cannot read: {e}"]) from None


# --- validation and compilation -------------------------------------------------------

class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []

    def error(self, node: Any, rule: str | None, key: str | None, message: str) -> None:
        line = getattr(node, "line", 0)
        where = f"{self.path}:{line}" if line else self.path
        parts = [where]
        if rule:
            parts.append(f"rule {rule}")
        if key:
            parts.append(f"key {key!r}")
        self.problems.append(": ".join(parts) + f": {message}")

    def str_list(self, value: Any, node: Any, rule: str | None, key: str) -> tuple[str, ...] | None:
        if isinstance(value, str):
            return (str(value),)
        if isinstance(value, list) and value:
            bad = [v for v in value if not isinstance(v, str)]
            if not bad:
                return tuple(str(v) for v in value)
            self.error(value if getattr(value, "line", 0) else node, rule, key,
                       f"{bad[0]!r} is not a string (quote it: YAML reads true, false, yes, no and numbers as other types)")
            return None
        self.error(node, rule, key, "must be a string or a non-empty list of strings")
        return None


def compile_condition(ck: _Checker, cond: Any, rule: str, key: str, need_program: bool) -> dict[str, Any] | None:
    if not isinstance(cond, dict):
        ck.error(cond, rule, key, "must be a mapping of match keys")
        return None
    out: dict[str, Any] = {}
    for k, v in cond.items():
        if k not in MATCH_KEYS:
            ck.error(cond, rule, f"{key}.{k}", f"unknown match key (known: {', '.join(MATCH_KEYS)})")
            continue
        if k == "program":
            vals = ck.str_list(v, cond, rule, f"{key}.program")
            if vals:
                out[k] = vals
        elif k == "subcommand":
            seq = [v] if isinstance(v, str) else v
            if not isinstance(seq, list) or not seq:
                ck.error(cond, rule, f"{key}.subcommand", "must be a word, or a list of positions (each a word or a list of words)")
                continue
            positions = []
            for pos in seq:
                vals = ck.str_list(pos, cond, rule, f"{key}.subcommand")
                if vals:
                    positions.append(vals)
            out[k] = tuple(positions)
        elif k in ("options", "env"):
            if not isinstance(v, dict) or not v:
                ck.error(cond, rule, f"{key}.{k}", "must be a mapping of name to value pattern(s)")
                continue
            compiled = {}
            for name, pats in v.items():
                vals = ck.str_list(pats, cond, rule, f"{key}.{k}.{name}")
                if vals:
                    compiled[str(name)] = vals
            out[k] = compiled
        elif k == "stdin":
            if v not in ("pipe",):
                ck.error(cond, rule, f"{key}.stdin", "must be 'pipe'")
                continue
            out[k] = str(v)
        elif k == "args_from_stdin":
            if not isinstance(v, bool):
                ck.error(cond, rule, f"{key}.{k}", "must be true or false")
                continue
            out[k] = v
        elif k == "min_args":
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                ck.error(cond, rule, f"{key}.{k}", "must be a whole number")
                continue
            out[k] = v
        else:
            vals = ck.str_list(v, cond, rule, f"{key}.{k}")
            if vals is None:
                continue
            if k in ("paths", "all_paths", "dest_paths", "source_paths", "redirect_paths"):
                bad = [c for c in vals if c not in PATH_CLASSES]
                if bad:
                    ck.error(cond, rule, f"{key}.{k}", f"unknown path class {bad[0]!r} (known: {', '.join(PATH_CLASSES)})")
                    continue
            out[k] = vals
    if need_program and not out:
        ck.error(cond, rule, key, "is empty: a rule must match something")
    return out


def compile_rule(ck: _Checker, raw: Any, seen: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        ck.error(raw, None, None, "each entry of 'rules' must be a mapping")
        return None
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        ck.error(raw, None, "id", "missing or not a string")
        return None
    ok = True
    for k in raw:
        if k not in RULE_KEYS:
            ck.error(raw, rid, str(k), f"unknown key (known: {', '.join(RULE_KEYS)})")
            ok = False
    if rid in seen:
        ck.error(raw, rid, "id", f"duplicate id (first defined at {seen[rid]})")
        ok = False
    seen[rid] = f"{ck.path}:{getattr(raw, 'line', 0)}"
    risk = raw.get("risk")
    if risk not in RISKS:
        ck.error(raw, rid, "risk", f"must be one of {', '.join(RISKS)}, not {risk!r}")
        ok = False
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        ck.error(raw, rid, "reason", "missing: say what the command does and why it is risky")
        ok = False
    suggest = raw.get("suggest")
    if suggest is not None and not isinstance(suggest, str):
        ck.error(raw, rid, "suggest", "must be a string")
        ok = False
    if "match" not in raw:
        ck.error(raw, rid, "match", "missing")
        return None
    match = compile_condition(ck, raw["match"], rid, "match", need_program=True)
    unless_raw = raw.get("unless", [])
    if isinstance(unless_raw, dict):
        unless_raw = [unless_raw]
    unless = []
    if not isinstance(unless_raw, list):
        ck.error(raw, rid, "unless", "must be a list of match mappings")
        ok = False
    else:
        for cond in unless_raw:
            c = compile_condition(ck, cond, rid, "unless", need_program=True)
            if c is not None:
                unless.append(c)
    examples = raw.get("examples")
    hits: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()
    if not isinstance(examples, dict):
        ck.error(raw, rid, "examples", "missing: every rule needs examples {hit: [...], miss: [...]}")
        ok = False
    else:
        for k in examples:
            if k not in ("hit", "miss"):
                ck.error(examples, rid, f"examples.{k}", "unknown key (use hit and miss)")
                ok = False
        h = examples.get("hit")
        m = examples.get("miss")
        if not isinstance(h, list) or not h or not all(isinstance(x, str) for x in h):
            ck.error(examples, rid, "examples.hit", "needs at least one command the rule must match")
            ok = False
        else:
            hits = tuple(str(x) for x in h)
        if not isinstance(m, list) or not m or not all(isinstance(x, str) for x in m):
            ck.error(examples, rid, "examples.miss", "needs at least one look-alike command the rule must not match")
            ok = False
        else:
            misses = tuple(str(x) for x in m)
    if not ok or match is None:
        return None
    return {
        "id": str(rid),
        "risk": RISKS.index(str(risk)),
        "reason": " ".join(str(reason).split()),
        "suggest": str(suggest) if suggest else None,
        "match": match,
        "unless": unless,
        "hit": hits,
        "miss": misses,
        "file": ck.path,
        "line": getattr(raw, "line", 0),
    }


def compile_file(path: str, seen: dict[str, str], data: dict[str, Any]) -> list[str]:
    """Validate one file and add its contents to ``data``; returns the problems found."""
    ck = _Checker(path)
    try:
        doc = read_yaml(path)
    except RuleError as e:
        return e.problems
    if doc is None:
        return []
    if not isinstance(doc, dict):
        ck.error(doc, None, None, "a rule file must be a mapping with 'rules', 'programs' or 'defaults'")
        return ck.problems
    for k in doc:
        if k not in FILE_KEYS:
            ck.error(doc, None, str(k), f"unknown top-level key (known: {', '.join(FILE_KEYS)})")
    programs = doc.get("programs") or {}
    if not isinstance(programs, dict):
        ck.error(doc, None, "programs", "must be a mapping of program name to settings")
        programs = {}
    for name, spec in programs.items():
        if not isinstance(spec, dict):
            ck.error(programs, None, f"programs.{name}", "must be a mapping")
            continue
        entry = data["programs"].setdefault(str(name), {})
        for k, v in spec.items():
            if k not in PROGRAM_KEYS:
                ck.error(spec, None, f"programs.{name}.{k}", f"unknown key (known: {', '.join(PROGRAM_KEYS)})")
            elif k == "single_dash_long":
                if not isinstance(v, bool):
                    ck.error(spec, None, f"programs.{name}.{k}", "must be true or false")
                else:
                    entry[k] = v
            elif k == "default":
                if v not in RISKS:
                    ck.error(spec, None, f"programs.{name}.default", f"must be one of {', '.join(RISKS)}")
                else:
                    data["defaults"][str(name)] = RISKS.index(str(v))
            else:
                vals = ck.str_list(v, spec, None, f"programs.{name}.{k}")
                if vals:
                    entry[k] = tuple(entry.get(k, ())) + vals
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        ck.error(doc, None, "defaults", "must be a mapping of risk to a list of programs")
        defaults = {}
    for risk, names in defaults.items():
        if risk not in RISKS:
            ck.error(defaults, None, f"defaults.{risk}", f"must be one of {', '.join(RISKS)}")
            continue
        vals = ck.str_list(names, defaults, None, f"defaults.{risk}")
        for n in vals or ():
            if n in data["defaults"] and data["defaults"][n] != RISKS.index(str(risk)):
                ck.error(defaults, None, f"defaults.{risk}", f"program {n!r} already has default {RISKS[data['defaults'][n]]}")
            data["defaults"][n] = RISKS.index(str(risk))
    rules = doc.get("rules") or []
    if not isinstance(rules, list):
        ck.error(doc, None, "rules", "must be a list of rules")
        rules = []
    for raw in rules:
        compiled = compile_rule(ck, raw, seen)
        if compiled is not None:
            data["rules"].append(compiled)
    return ck.problems


def build(files: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"programs": {}, "defaults": {}, "rules": []}
    seen: dict[str, str] = {}
    problems: list[str] = []
    for f in files:
        problems.extend(compile_file(f, seen, data))
    if problems:
        raise RuleError(problems)
    return data


# --- the compiled rule set -------------------------------------------------------------

class Program:
    """How to read one program's command line."""

    __slots__ = ("value_options", "value_globs", "flag_options", "single_dash_long", "help_flags")

    def __init__(self, spec: dict[str, Any]) -> None:
        values = tuple(spec.get("value_options", ()))
        self.value_options = frozenset(v for v in values if "*" not in v and "?" not in v)
        self.value_globs = tuple(v for v in values if "*" in v or "?" in v)
        self.flag_options = frozenset(spec.get("flag_options", ()))
        self.single_dash_long = bool(spec.get("single_dash_long", False))
        self.help_flags = frozenset(spec.get("help_flags", ("--help",)))


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
        for rule in data["rules"]:
            progs = rule["match"].get("program")
            if progs is None:
                self.any_rules.append(rule)
            elif any("*" in p or "?" in p or "[" in p for p in progs):
                self.glob_rules.append(rule)
            else:
                for p in progs:
                    self.by_program.setdefault(p, []).append(rule)
        self.known = set(self.defaults) | set(self.by_program) | set(self._specs)
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
        self.known = set(packed["known"])
        self.with_subcommands = frozenset(packed["with_subcommands"])
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

    def candidates(self, name: str) -> list[dict[str, Any]]:
        found = list(self.for_program(name))
        for rule in self.glob_rules:
            if any_match(rule["match"]["program"], name):
                found.append(rule)
        found.extend(self.any_rules)
        return found

    def is_known(self, name: str) -> bool:
        if name in self.known:
            return True
        return any(any_match(r["match"]["program"], name) for r in self.glob_rules)

    def default_risk(self, name: str) -> Risk | None:
        value = self.defaults.get(name)
        return None if value is None else Risk(value)

    def by_id(self, rule_id: str) -> dict[str, Any] | None:
        for rule in self.rules:
            if rule["id"] == rule_id:
                return rule
        return None


def cache_path() -> str:
    return paths.rules_cache()


def load_rules(dirs: list[str] | None = None, use_cache: bool = True, check_examples: bool = True) -> RuleSet:
    """The rule set from ``dirs`` (default: ``rule_dirs()``), from the cache when it is fresh.

    A rebuild validates every file and checks every rule's examples; any problem raises
    RuleError and nothing is cached.
    """
    files = rule_files(dirs if dirs is not None else rule_dirs())
    if not files:
        raise RuleError([f"no rule files found in {', '.join(dirs or rule_dirs())}"])
    sig = signature(files)
    path = cache_path()
    if use_cache:
        try:
            cached = read_cache(path, sig, files)
            if cached is not None:
                return cached
        except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
            pass
    data = build(files)
    ruleset = RuleSet(data, files)
    if check_examples:
        from guardsh.engine.examples import check_examples as run_checks

        failures = run_checks(ruleset)
        if failures:
            raise RuleError(failures)
    if use_cache:
        write_cache(path, sig, ruleset.pack())
    return ruleset


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


def write_cache(path: str, sig: list[Any], packed: dict[str, Any]) -> None:
    """Write the cache: an 8-byte header length, a marshalled index, then the marshalled rules
    of each program at the offsets the index gives.  Loading reads the file once and unmarshals
    only the index; a program's rules are unmarshalled when a command names it."""
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
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(len(head).to_bytes(8, "little") + head + bytes(blobs))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass


def read_cache(path: str, sig: list[Any], files: list[str]) -> RuleSet | None:
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    head = marshal.loads(data[8 : 8 + n])
    if not isinstance(head, dict) or head.get("sig") != sig:
        return None
    view = memoryview(data)[8 + n :]
    return RuleSet.unpack(head["packed"], files, view)
