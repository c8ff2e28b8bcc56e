"""The ``runners``, ``env_loaders`` and ``fallback`` sections of rule files: validated and compiled
to plain dicts and tuples (they go into the rule cache with the rules).

``runners`` says, per program (or ``program subcommand``), where in its command line another
command, a shell string or code in a language is::

    runners:
      strace: {value_options: [-o, -e, -p], run: command}        # strace [opts] CMD ARGS
      docker run: {value_options: [-e, -v, --name], skip: 1, run: command, keep: true}
      script: {value_options: [-c, -T], options: {-c: shell}}    # script -c 'CMD' FILE
      git: {options: {-c: {core.sshCommand: shell, core.pager: shell}}}
      awk: {value_options: [-f, -v, -F], run: awk}              # the first word is an awk program

``env_loaders`` names environment variables that make a program load code::

    env_loaders:
      BASH_ENV: {kind: file, programs: [bash]}
      GIT_SSH_COMMAND: {kind: shell, programs: [git]}
      LD_PRELOAD: {kind: opaque, programs: ["*"]}

``fallback`` is the destruction-verb fallback for programs no rule file names::

    fallback:
      verbs: [delete, destroy, "delete-*"]
      dry_run: {mytool: [--plan]}
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RUN_KINDS = ("command", "shell", "stdin")
LANGUAGES = ("awk", "sed", "vim", "elisp", "gdb", "expect", "make", "ssm", "sql", "python", "js", "ruby", "perl", "php")
OPTION_KINDS = RUN_KINDS + LANGUAGES + ("file", "script", "code_file", "hooks", "module")
RUNNER_KEYS = ("value_options", "skip", "run", "after_dashdash", "options", "keep", "shell_words", "optional_value",
               "examples", "stdin", "options_anywhere", "args")
ENV_KINDS = ("shell", "file", "function", "opaque", "program")
ENV_KEYS = ("kind", "programs", "language", "examples")
FALLBACK_KEYS = ("verbs", "verb_flags", "safe_verbs", "dry_run", "max_depth", "examples")


def _examples(ck: Any, v: Any, node: Any, where: str, label: str, kind: str, data: dict[str, Any]) -> None:
    """``examples: {hit: [...], miss: [...]}`` of a runner, env loader or the fallback, checked
    when the rules are built (guardsh.engine.examples)."""
    if not isinstance(v, dict) or any(k not in ("hit", "miss") for k in v):
        ck.error(node, None, where, "must be a mapping with hit and/or miss lists of commands")
        return
    lists = []
    for key in ("hit", "miss"):
        items = v.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            ck.error(v, None, f"{where}.{key}", "must be a list of commands")
            return
        lists.append(tuple(str(x) for x in items))
    data.setdefault("examples", []).append(
        {"file": ck.path, "line": getattr(node, "line", 0), "what": label, "kind": kind, "hit": lists[0],
         "miss": lists[1]})


def compile_runners(ck: Any, section: Any, data: dict[str, Any]) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        ck.error(section, None, "runners", "must be a mapping of program (or 'program subcommand') to settings")
        return
    table = data.setdefault("runners", {})
    for name, spec in section.items():
        key = f"runners.{name}"
        words = str(name).split()
        if not words:
            ck.error(section, None, key, "names no program")
            continue
        if not isinstance(spec, dict):
            ck.error(section, None, key, "must be a mapping")
            continue
        entry: dict[str, Any] = {}
        for k, v in spec.items():
            where = f"{key}.{k}"
            if k not in RUNNER_KEYS:
                ck.error(spec, None, where, f"unknown key (known: {', '.join(RUNNER_KEYS)})")
            elif k in ("value_options", "optional_value"):
                vals = ck.str_list(v, spec, None, where)
                if vals:
                    entry[k] = vals
            elif k == "skip":
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    ck.error(spec, None, where, "must be a whole number (words of the runner's own before the command)")
                else:
                    entry[k] = v
            elif k == "run":
                if v not in OPTION_KINDS:
                    ck.error(spec, None, where, f"must be one of {', '.join(OPTION_KINDS)}, not {v!r}")
                else:
                    entry[k] = str(v)
            elif k == "stdin":
                if v not in LANGUAGES + ("shell",):
                    ck.error(spec, None, where, f"must be shell or a language ({', '.join(LANGUAGES)})")
                else:
                    entry[k] = str(v)
            elif k in ("after_dashdash", "keep", "shell_words", "options_anywhere"):
                if not isinstance(v, bool):
                    ck.error(spec, None, where, "must be true or false")
                else:
                    entry[k] = v
            elif k == "options":
                opts = _options(ck, v, spec, where)
                if opts is not None:
                    entry[k] = opts
            elif k == "args":
                if not isinstance(v, dict) or not v or any(kind not in OPTION_KINDS for kind in v.values()):
                    ck.error(spec, None, where, f"must be a mapping of word pattern to kind ({', '.join(OPTION_KINDS)})")
                else:
                    entry[k] = {str(p): str(kind) for p, kind in v.items()}
            elif k == "examples":
                seen = ck.__dict__.setdefault("runner_examples_seen", set())
                if id(v) not in seen:  # an entry shared with a YAML alias carries its examples once
                    seen.add(id(v))
                    _examples(ck, v, spec, where, f"runner {name}", "runner:" + str(name).split()[0], data)
        opts = entry.get("options", {})
        optional = entry.get("optional_value", ())
        entry["value_options"] = tuple(entry.get("value_options", ())) + tuple(
            o for o, kind in opts.items() if o != "+" and kind != "command" and o not in optional
            and o not in entry.get("value_options", ()))
        if "run" not in entry and "options" not in entry and "stdin" not in entry and "args" not in entry:
            ck.error(spec, None, key, "says nothing runs: give 'run' (what follows the options) or 'options'")
            continue
        if entry.get("after_dashdash") and "run" not in entry:
            ck.error(spec, None, f"{key}.after_dashdash", "needs 'run'")
        prog, sub = words[0], " ".join(words[1:])
        if sub in table.get(prog, {}):
            ck.error(section, None, key, "is defined twice")
        table.setdefault(prog, {})[sub] = entry


def _options(ck: Any, v: Any, spec: Any, where: str) -> dict[str, Any] | None:
    if not isinstance(v, dict) or not v:
        ck.error(spec, None, where, "must be a mapping of option to kind, or of option to {value prefix: kind}")
        return None
    out: dict[str, Any] = {}
    for opt, kind in v.items():
        if not str(opt).startswith("-") and opt != "+":
            ck.error(v, None, f"{where}.{opt}", "an option starts with '-' (or is '+', for +CMD words)")
            continue
        if isinstance(kind, dict):
            prefixes = {}
            for prefix, k2 in kind.items():
                if k2 not in OPTION_KINDS:
                    ck.error(kind, None, f"{where}.{opt}.{prefix}", f"must be one of {', '.join(OPTION_KINDS)}")
                else:
                    prefixes[str(prefix).lower()] = str(k2)
            out[str(opt)] = prefixes
        elif kind in OPTION_KINDS:
            out[str(opt)] = str(kind)
        else:
            ck.error(v, None, f"{where}.{opt}", f"must be one of {', '.join(OPTION_KINDS)}, not {kind!r}")
    return out


def compile_env_loaders(ck: Any, section: Any, data: dict[str, Any]) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        ck.error(section, None, "env_loaders", "must be a mapping of variable name (a pattern) to settings")
        return
    table = data.setdefault("env_loaders", {})
    for name, spec in section.items():
        key = f"env_loaders.{name}"
        if not isinstance(spec, dict):
            ck.error(section, None, key, "must be a mapping with kind and programs")
            continue
        bad = [k for k in spec if k not in ENV_KEYS]
        if bad:
            ck.error(spec, None, f"{key}.{bad[0]}", f"unknown key (known: {', '.join(ENV_KEYS)})")
            continue
        kind = spec.get("kind")
        if kind not in ENV_KINDS:
            ck.error(spec, None, f"{key}.kind", f"must be one of {', '.join(ENV_KINDS)}, not {kind!r}")
            continue
        progs = ck.str_list(spec.get("programs"), spec, None, f"{key}.programs")
        if not progs:
            continue
        lang = spec.get("language")
        if lang is not None and lang not in LANGUAGES:
            ck.error(spec, None, f"{key}.language", f"must be one of {', '.join(LANGUAGES)}")
            continue
        table[str(name)] = {"kind": str(kind), "programs": progs, "language": str(lang) if lang else None}
        if "examples" in spec:
            _examples(ck, spec["examples"], spec, f"{key}.examples", f"env loader {name}", "env:" + str(name), data)


def compile_fallback(ck: Any, section: Any, data: dict[str, Any]) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        ck.error(section, None, "fallback", "must be a mapping (verbs, verb_flags, dry_run, max_depth)")
        return
    fb = data.setdefault("fallback", {"verbs": (), "verb_flags": (), "safe_verbs": (), "dry_run": {}, "max_depth": 3})
    for k, v in section.items():
        where = f"fallback.{k}"
        if k not in FALLBACK_KEYS:
            ck.error(section, None, where, f"unknown key (known: {', '.join(FALLBACK_KEYS)})")
        elif k in ("verbs", "verb_flags", "safe_verbs"):
            vals = ck.str_list(v, section, None, where)
            if vals:
                fb[k] = tuple(fb[k]) + tuple(x.lower() for x in vals)
        elif k == "examples":
            _examples(ck, v, section, where, "fallback", "fallback", data)
        elif k == "max_depth":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                ck.error(section, None, where, "must be a whole number of at least 1")
            else:
                fb[k] = v
        elif k == "dry_run":
            if not isinstance(v, dict):
                ck.error(section, None, where, "must be a mapping of program to its dry-run flags")
                continue
            for prog, flags in v.items():
                vals = ck.str_list(flags, v, None, f"{where}.{prog}")
                if vals:
                    fb["dry_run"][str(prog)] = tuple(fb["dry_run"].get(str(prog), ())) + vals
