"""Rule files: locate, validate, compile; the rule set from its cache when that is fresh.

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
compiled to plain tuples and dicts and cached with ``marshal`` (``guardsh.engine.ruleset``); the
cache is keyed on the size and mtime of every source file.  Every problem is a ``RuleError``
naming the file, the line, the rule and the key.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from guardsh import __version__, paths
from guardsh.engine import caches
from guardsh.engine.ruleset import RuleSet, encode_cache, read_cache
from guardsh.engine.runners.table import compile_env_loaders, compile_fallback, compile_runners
from guardsh.engine.yamlfile import RuleError, read_yaml

CACHE_FORMAT = 6
RISKS = ("read-only", "reversible", "destructive", "catastrophic")
PATH_CLASSES = (
    "root", "critical", "system", "home", "secrets", "git-dir", "guardsh", "protected", "device",
    "workspace", "workspace-root", "outside-workspace", "temp", "regenerable", "cache", "unresolved", "own",
    "recoverable",
)
LIST_KEYS = ("flags", "all_flags", "args", "selects", "words", "paths", "all_paths", "dest_paths", "source_paths", "redirects",
             "redirect_paths", "all_redirect_paths",
             "stdin_from", "assigns", "via")
MATCH_KEYS = ("program", "subcommand", "options", "stdin", "env", "args_from_stdin", "min_args") + LIST_KEYS
RULE_KEYS = ("id", "risk", "reason", "match", "unless", "suggest", "examples")
PROGRAM_KEYS = ("value_options", "flag_options", "single_dash_long", "help_flags", "whole_match_flags", "default")
FILE_KEYS = ("programs", "defaults", "rules", "runners", "env_loaders", "fallback")


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


# --- validation and compilation -------------------------------------------------------

class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []

    def error(self, node: Any, rule: str | None, key: str | None, message: str) -> None:
        line = getattr(node, "line", 0)
        key_lines = getattr(node, "key_lines", None)
        if key_lines and key:
            line = key_lines.get(key.rsplit(".", 1)[-1], line)  # the key's own line, not the mapping's
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
            if k in ("paths", "all_paths", "dest_paths", "source_paths", "redirect_paths", "all_redirect_paths"):
                bad = [c for c in vals if c not in PATH_CLASSES]
                if bad:
                    ck.error(cond, rule, f"{key}.{k}", f"unknown path class {bad[0]!r} (known: {', '.join(PATH_CLASSES)})")
                    continue
                if "recoverable" in vals and k != "all_paths":
                    ck.error(cond, rule, f"{key}.{k}", "the path class 'recoverable' is looked up only for all_paths")
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
        ck.error(doc, None, None, "a rule file must be a mapping with 'rules', 'programs', 'defaults', 'runners', "
                 "'env_loaders' or 'fallback'")
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
    compile_runners(ck, doc.get("runners"), data)  # issue 13: what runs other commands, as data
    compile_env_loaders(ck, doc.get("env_loaders"), data)
    compile_fallback(ck, doc.get("fallback"), data)
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
        caches.offer(path, encode_cache(sig, ruleset.pack()))
    return ruleset


