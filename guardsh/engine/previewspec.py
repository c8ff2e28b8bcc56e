"""Preview specs: which read-only command shows what a risky command would do (previews.d/*.yaml).

A spec names the commands it applies to with the rules' own ``match`` / ``unless`` keys and says
how to derive its preview, in exactly one of three ways:

``transform``  the same command changed: ``drop`` flags/options (globs; an option's separate value
               goes with it), ``replace`` words, ``rename`` a subcommand word (to one or more words),
               ``append`` words (before a ``--``).
``run``        a list of steps, each an argv template (or ``{argv, label, show}``) with the
               placeholders ``{program}``, ``{prefix}`` (the words before the subcommand),
               ``{args}`` (the positionals after it), ``{each}`` (one step per positional) and
               ``{option:-n|--name}`` (an option's value).
``local``      a computation of guardsh's own (``paths``: counts, sizes, git state of the paths
               ``args`` names; ``git-push-force``), or ``sql`` (the statement, tables, and counts).

``show`` says how the output is summarised.  Each spec carries examples: the command and the
preview it must derive (``preview: ...``, steps joined by `` ; ``), checked when loading.
"""
from __future__ import annotations

import marshal
import os

from guardsh import paths
from guardsh.engine import caches
from guardsh.engine.rules import _Checker, compile_condition
from guardsh.engine.yamlfile import RuleError, read_yaml

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC_KEYS = ("id", "what", "match", "unless", "transform", "run", "local", "show", "examples")
TRANSFORM_KEYS = ("drop", "replace", "rename", "append")
STEP_KEYS = ("argv", "label", "show")
SHOWS = ("lines", "names", "paths", "terraform-plan", "aws-dry-run", "rsync", "commits")
LOCALS = ("paths", "git-push-force", "sql")
PREVIEWS_DIR = "previews.d"
CACHE_FORMAT = 1


class _SpecChecker(_Checker):
    """Errors that say ``preview ID`` where the rules' say ``rule ID``."""

    def error(self, node: Any, rule: str | None, key: str | None, message: str) -> None:
        super().error(node, None, key, message)
        if rule:
            where, _, rest = self.problems[-1].partition(": ")
            self.problems[-1] = f"{where}: preview {rule}: {rest}"


def packaged_dir() -> str:
    """``guardsh/_previews`` when installed, else the checkout's previews.d."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.join(package, "_previews")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), PREVIEWS_DIR)


def spec_files(dirs: list[str] | None = None) -> list[str]:
    out: list[str] = []
    for d in dirs if dirs is not None else [packaged_dir()]:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        out += [os.path.join(d, n) for n in names if n.endswith((".yaml", ".yml"))]
    return out


def load_specs(dirs: list[str] | None = None, use_cache: bool = True) -> list[dict[str, Any]]:
    """Every spec, validated; raises RuleError naming file, line, spec and key.  Compiled specs
    are cached (marshal, keyed on the files' size and mtime) like the rules."""
    if dirs is None and not os.path.isdir(packaged_dir()):
        raise RuleError([f"{packaged_dir()}: the packaged preview specs are missing (reinstall guardsh)"])
    files = spec_files(dirs)
    sig: list[Any] = [CACHE_FORMAT]
    for f in files:
        st = os.stat(f)
        sig.append((f, st.st_size, st.st_mtime_ns))
    cache = os.path.join(paths.compiled_cache_dir(), "previews.marshal")  # system mode: not the agent's cache
    if use_cache:
        try:
            with open(cache, "rb") as fh:
                cached = marshal.load(fh)
            if isinstance(cached, dict) and cached.get("sig") == sig:
                return list(cached["specs"])
        except (OSError, EOFError, ValueError, TypeError):
            pass
    specs = _compile_files(files)
    if use_cache:
        try:
            caches.offer(cache, marshal.dumps({"sig": sig, "specs": specs}))
        except ValueError:
            pass
    return specs


def _compile_files(files: list[str]) -> list[dict[str, Any]]:
    problems: list[str] = []
    specs: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            doc = read_yaml(path)
        except RuleError as e:
            problems += e.problems
            continue
        ck = _SpecChecker(path)
        if not isinstance(doc, dict) or set(doc) - {"previews"} or not isinstance(doc.get("previews"), list):
            ck.error(doc, None, "previews", "a preview file holds one key, 'previews': a list of specs")
        else:
            for raw in doc["previews"]:
                spec = compile_spec(ck, raw, seen)
                if spec is not None:
                    specs.append(spec)
        problems += ck.problems
    if problems:
        raise RuleError(problems)
    return specs


def compile_spec(ck: _Checker, raw: Any, seen: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        ck.error(raw, None, "id", "each preview must be a mapping with an 'id'")
        return None
    sid = str(raw["id"])
    before = len(ck.problems)
    for k in raw:
        if k not in SPEC_KEYS:
            ck.error(raw, sid, str(k), f"unknown key (known: {', '.join(SPEC_KEYS)})")
    if sid in seen:
        ck.error(raw, sid, "id", f"duplicate id (first defined at {seen[sid]})")
    seen[sid] = f"{ck.path}:{getattr(raw, 'line', 0)}"
    if not isinstance(raw.get("what"), str):
        ck.error(raw, sid, "what", "missing: say what the preview shows")
    match = compile_condition(ck, raw.get("match"), sid, "match", need_program=True)
    if match is not None and "program" not in match:
        ck.error(raw.get("match"), sid, "match.program", "missing: a preview names the program(s) it applies to")
        match = None
    unless_raw = raw.get("unless", [])
    unless_raw = [unless_raw] if isinstance(unless_raw, dict) else unless_raw
    unless = [c for c in (compile_condition(ck, u, sid, "unless", True) for u in unless_raw or []) if c is not None]
    kinds = [k for k in ("transform", "run", "local") if k in raw]
    if len(kinds) != 1:
        ck.error(raw, sid, "transform", "needs exactly one of 'transform', 'run' and 'local'")
    show = raw.get("show", "lines")
    if show not in SHOWS:
        ck.error(raw, sid, "show", f"must be one of {', '.join(SHOWS)}")
    spec: dict[str, Any] = {"id": sid, "what": str(raw.get("what", "")), "match": match, "unless": unless,
                            "show": show, "file": ck.path, "line": getattr(raw, "line", 0)}
    if "transform" in raw:
        spec["transform"] = _transform(ck, raw["transform"], sid)
    if "run" in raw:
        spec["run"] = _steps(ck, raw["run"], sid, show)
    if "local" in raw:
        spec["local"] = _local(ck, raw["local"], sid)
    examples = raw.get("examples")
    if not isinstance(examples, list) or not examples or not all(
            isinstance(e, dict) and isinstance(e.get("command"), str) and isinstance(e.get("preview"), str)
            and not set(e) - {"command", "preview"} for e in examples):
        ck.error(raw, sid, "examples", "needs a list of {command: ..., preview: ...} (the preview it must derive)")
        examples = []
    spec["examples"] = [(str(e["command"]), str(e["preview"])) for e in examples]
    return spec if len(ck.problems) == before else None


def _words(ck: _Checker, value: Any, node: Any, sid: str, key: str) -> list[str]:
    vals = ck.str_list(value, node, sid, key)
    return list(vals or ())


def _transform(ck: _Checker, raw: Any, sid: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        ck.error(raw, sid, "transform", f"must be a mapping with keys {', '.join(TRANSFORM_KEYS)}")
        return {}
    out: dict[str, Any] = {"drop": [], "replace": {}, "rename": {}, "append": []}
    for k, v in raw.items():
        if k not in TRANSFORM_KEYS:
            ck.error(raw, sid, f"transform.{k}", f"unknown key (known: {', '.join(TRANSFORM_KEYS)})")
        elif k in ("drop", "append"):
            out[k] = _words(ck, v, raw, sid, f"transform.{k}")
        elif not isinstance(v, dict) or not v:
            ck.error(raw, sid, f"transform.{k}", "must map a word to its replacement word(s)")
        else:
            out[k] = {str(a): _words(ck, b, raw, sid, f"transform.{k}.{a}") for a, b in v.items()}
    return out


def _steps(ck: _Checker, raw: Any, sid: str, show: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        ck.error(raw, sid, "run", "must be a list of steps (argv lists, or {argv, label, show})")
        return []
    steps = []
    for step in raw:
        if isinstance(step, list):
            step = {"argv": step}
        if not isinstance(step, dict) or set(step) - set(STEP_KEYS):
            ck.error(raw, sid, "run", f"a step is an argv list or a mapping with keys {', '.join(STEP_KEYS)}")
            continue
        argv = _words(ck, step.get("argv"), step, sid, "run.argv")
        s = step.get("show", show)
        if s not in SHOWS:
            ck.error(step, sid, "run.show", f"must be one of {', '.join(SHOWS)}")
        steps.append({"argv": argv, "label": str(step.get("label", "")), "show": s})
    return steps


def _local(ck: _Checker, raw: Any, sid: str) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or raw.get("name") not in LOCALS or set(raw) - {"name", "args"}:
        ck.error(raw, sid, "local", f"must be {{name: {'|'.join(LOCALS)}, args: [...]}}")
        return {}
    return {"name": str(raw["name"]), "args": _words(ck, raw.get("args", ["{args}"]), raw, sid, "local.args")}
