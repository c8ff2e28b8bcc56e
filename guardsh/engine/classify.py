"""Classify: every simple command against the rules, in the context it runs in.

``classify_text`` is the whole pipeline short of running anything: parse, look inside
wrappers, match each simple command's normalised words against the rules, take the
strictest risk, and let the config's policy turn it into a decision.
"""
from __future__ import annotations

import os
import sys

from guardsh import paths
from guardsh.engine.config import Config
from guardsh.engine import production
from guardsh.engine.model import Command, Decision, Match, Risk, Verdict, Word
from guardsh.engine.parse import parse_script
from guardsh.engine.rules import Program, RuleSet, any_match, gmatch
from guardsh.engine.unwrap import Reader, expand

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

SYSTEM_DIRS = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
               "/opt", "/srv", "/root", "/sys", "/proc", "/snap", "/dev")
SECRET_DIRS = (".ssh", ".aws", ".kube", ".gnupg", ".config/gcloud", ".azure", ".netrc", ".git-credentials",
               ".password-store", ".docker/config.json", ".terraform.d/credentials.tfrc.json")
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/random",
                    "/dev/urandom", "/dev/fd", "/dev/shm", "/dev/full")
CRITICAL_DIRS = ("/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
                 "/var/lib", "/opt", "/srv", "/root", "/home", "/sys", "/proc", "/dev", "/snap", "/usr/local",
                 "/usr/bin", "/usr/lib", "/usr/sbin", "/usr/share", "/var/log", "/etc/ssh")
PROTECTED = frozenset({"root", "critical", "home", "secrets", "git-dir", "guardsh", "device"})
CANNOT_ANALYSE = "cannot-analyse"
FORK_BOMB = "fork-bomb"
FORK_BOMB_REASON = ("A function that pipes into itself multiplies processes until the machine "
                    "runs out of them: a fork bomb.")
CANNOT_ANALYSE_SUGGEST = "spell the command out literally (no eval of variables, no pipes into shells), or ask the user to run it"


def find_workspace(cwd: str, home: str, roots: tuple[str, ...] = ()) -> str | None:
    """The git root above ``cwd``, else a configured root holding it, else ``cwd`` itself
    (never ``/`` or the home directory: those are not a project)."""
    path = cwd
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path if path not in ("/", home) else None
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for root in roots:
        root = os.path.normpath(os.path.expanduser(root))
        if cwd == root or cwd.startswith(root.rstrip("/") + "/"):
            return root
    return cwd if cwd not in ("/", home) else None


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


class Context:
    """Where a command runs: cwd, home, workspace, environment, guardsh's own paths."""

    def __init__(
        self,
        cwd: str,
        config: Config | None = None,
        env: Mapping[str, str] | None = None,
        home: str | None = None,
        workspace: str | None | bool = True,
        read_files: bool = True,
        stdin_is_tty: bool = True,
    ) -> None:
        self.config = config or Config()
        self.env = dict(os.environ if env is None else env)
        self.cwd = os.path.normpath(cwd)
        self.home = os.path.normpath(home or self.env.get("HOME") or os.path.expanduser("~"))
        if workspace is True:
            self.workspace = find_workspace(self.cwd, self.home, self.config.workspace_roots)
        else:
            self.workspace = workspace or None
        self.read_files = read_files
        self.stdin_is_tty = stdin_is_tty
        tmp = self.env.get("TMPDIR")
        self.temp_dirs = TEMP_DIRS + ((os.path.normpath(tmp),) if tmp and tmp.startswith("/") else ())
        env_here = {**self.env, "HOME": self.home}
        self.cache_dir = paths.user_cache_root(env_here)
        self.guardsh_dirs = paths.own_dirs(env_here, self.config.audit_log)
        self.protected_extra = tuple(os.path.normpath(os.path.expanduser(p)) for p in self.config.protected_paths)
        self._classes: dict[tuple[str, str], frozenset[str]] = {}

    # --- paths ------------------------------------------------------------------------

    def resolve(self, word: Word, cwd: str) -> str | None:
        """Absolute path a word names, or None when it depends on run-time values."""
        value = word.value
        if word.dynamic:
            for name in ("HOME", "PWD", "TMPDIR", "USER"):
                for form in ("${" + name + "}", "$" + name):
                    if form in value and name in self.env:
                        value = value.replace(form, self.env[name] if name != "PWD" else cwd)
            if "$" in value or "`" in value:
                return None
        if value.startswith("~"):
            head, sep, rest = value.partition("/")
            if head == "~":
                value = self.home + (sep + rest if sep else "")
            else:
                return None  # ~user: another user's home
        if word.glob:
            cut = min((value.find(c) for c in "*?[{" if c in value), default=len(value))
            base, _, _ = value[:cut].rpartition("/")
            component = value[len(base) + 1 if base or value.startswith("/") else 0:].split("/", 1)[0]
            if value.startswith("/") and not base:
                base = "/"
            whole = component in ("*", ".*", "*/", "{*,.*}", ".[!.]*") or component.startswith("*") and "/" not in component and component.strip("*") == ""
            joined = os.path.join(cwd, base or ".")
            value = joined if whole else os.path.join(joined, "_")
        return os.path.normpath(os.path.join(cwd, value))

    def path_classes(self, word: Word, cwds: list[str]) -> frozenset[str]:
        result: set[str] = set()
        for cwd in cwds:
            key = (cwd, word.value if not word.glob else "\0" + word.value)
            cached = self._classes.get(key)
            if cached is None:
                path = self.resolve(word, cwd)
                cached = self._classify_path(path) if path is not None else self._unresolved(word, cwd)
                self._classes[key] = cached
            result |= cached
        return frozenset(result)

    def _unresolved(self, word: Word, cwd: str) -> frozenset[str]:
        classes = {"unresolved"}
        prefix = word.value.split("$", 1)[0].split("`", 1)[0]
        if "/" in prefix:
            static = prefix.rsplit("/", 1)[0] or "/"
            base = self._classify_path(os.path.normpath(os.path.join(cwd, os.path.expanduser(static))))
            classes |= {c for c in base if c not in ("workspace-root",)}
            if static == "/" or prefix == "/":
                classes |= {"root", "protected"}
        return frozenset(classes)

    def _classify_path(self, path: str) -> frozenset[str]:
        classes: set[str] = set()
        home, ws = self.home, self.workspace
        if path == "/":
            classes.add("root")
        if path in CRITICAL_DIRS or path == home:
            classes.add("critical")
        owned = _under(path, home) or (ws is not None and _under(path, ws))
        if not owned and any(_under(path, t) for t in self.temp_dirs):
            classes.add("temp")  # a workspace or home that lives under /tmp is not scratch space
        elif path.startswith("/dev/") and not any(_under(path, d) for d in HARMLESS_DEVICES):
            classes.add("device")
        if any(_under(path, d) for d in self.guardsh_dirs):
            classes.add("guardsh")
        elif _under(path, self.cache_dir) and path != self.cache_dir:
            classes.add("cache")  # ~/.cache/pip, ~/.cache/go-build: regenerable by definition
        if path == home:
            classes.add("home")
        elif _under(path, home):
            rel = path[len(home) + 1:]
            if any(rel == s or rel.startswith(s + "/") for s in SECRET_DIRS):
                classes.add("secrets")
        elif "temp" not in classes and (path == "/home" or any(_under(path, d) for d in SYSTEM_DIRS)):
            if not any(_under(path, d) for d in HARMLESS_DEVICES):
                classes.add("system")
        if "/.git/" in path + "/":
            classes.add("git-dir")
            if path.endswith("/.git"):
                classes.add("critical")
        rel_home = path[len(home) + 1:] if _under(path, home) and path != home else ""
        if rel_home in SECRET_DIRS:
            classes.add("critical")
        if any(_under(path, p) for p in self.protected_extra):
            classes.add("system")
        if ws is not None and _under(path, ws):
            classes.add("workspace")
            if path == ws:
                classes.add("workspace-root")
            else:
                parts = path[len(ws) + 1:].split("/")
                if any(any_match(tuple(self.config.regenerable), p) for p in parts):
                    classes.add("regenerable")
        elif "temp" not in classes and not any(_under(path, d) for d in HARMLESS_DEVICES):
            classes.add("outside-workspace")
        if classes & PROTECTED:
            classes.add("protected")
        return frozenset(classes)


class View:
    """A command line read with its program's option table: flags, option values, positionals."""

    __slots__ = ("flags", "options", "positionals", "help")

    def __init__(self, cmd: Command, spec: Program) -> None:
        flags: set[str] = set()
        options: list[tuple[str, str]] = []
        positionals: list[Word] = []
        words = cmd.words
        i, n = 1, len(words)
        ended = False
        while i < n:
            word = words[i]
            w = word.value
            i += 1
            if ended or len(w) < 2 or w[0] != "-" or (word.dynamic and w[0] == "$"):
                positionals.append(word)
                continue
            if w == "--":
                flags.add("--")
                ended = True
                continue
            if w.startswith("--") or spec.single_dash_long:
                name, eq, value = w.partition("=")
                flags.add(name)
                if eq:
                    options.append((name, value))
                elif name not in spec.flag_options and i < n:
                    nxt = words[i].value
                    if name in spec.value_options or (
                        spec.value_globs and any_match(spec.value_globs, name) and not nxt.startswith("-")
                    ):
                        options.append((name, nxt))
                        i += 1
                continue
            j = 1
            while j < len(w):
                flag = "-" + w[j]
                if w[j].isdigit():  # -9, -20: a number, kept whole
                    flag = "-" + w[j:]
                    flags.add(flag)
                    break
                flags.add(flag)
                if flag in spec.value_options:
                    rest = w[j + 1:]
                    if rest:
                        options.append((flag, rest.lstrip("=")))
                    elif i < n:
                        options.append((flag, words[i].value))
                        i += 1
                    break
                j += 1
        self.flags = flags
        self.options = options
        self.positionals = positionals
        before_end = flags - {"--"}
        self.help = bool(spec.help_flags & before_end)


class Classifier:
    """Rules + config, ready to classify many texts (one per agent command, or a whole log)."""

    def __init__(self, rules: RuleSet, config: Config | None = None) -> None:
        self.rules = rules
        self.config = config or Config()
        disabled = self.config.disabled_rules
        self._disabled = disabled

    def classify(self, text: str, ctx: Context, params: dict[str, str] | None = None) -> Verdict:
        """The verdict on one shell text; ``params`` are its positional parameters if known."""
        parsed = parse_script(text, params)
        reader = Reader(ctx.cwd, ctx.read_files, ctx.stdin_is_tty, ctx.home)
        expansion = expand(parsed.commands, reader)
        mode = parsed.mode
        order = ("full", "fallback", "opaque")
        if order.index(expansion.mode) > order.index(mode):
            mode = expansion.mode
        problems = [(p, text) for p in parsed.problems] + expansion.problems
        if problems:
            mode = "opaque"
        matches: list[Match] = []
        risk = Risk.READ_ONLY
        unknown: list[str] = []
        cwds = [ctx.cwd]
        prod_notes: list[str] = []
        for cmd in expansion.commands:
            cmd_risk, cmd_matches, known = self.evaluate(cmd, ctx, cwds)
            if production.wanted(cmd) and production.RULE_ID not in self._disabled:  # issue 6: production context
                cmd_risk, prod, note = production.escalate(cmd, View(cmd, self.rules.program(cmd.program)), ctx,
                                                           cmd_risk, cmd_matches, cwds[-1])
                if prod is not None and note is not None:
                    cmd_matches.append(prod)
                    prod_notes.append(note)
            risk = max(risk, cmd_risk)
            matches.extend(cmd_matches)
            if not known:
                unknown.append(cmd.program)
            if cmd.program == "cd" and len(cmd.words) == 2 and not cmd.words[1].dynamic:
                target = ctx.resolve(cmd.words[1], cwds[-1])
                if target is not None and target not in cwds:
                    cwds.append(target)
        for cmd in expansion.commands:
            if cmd.program and cmd.program in parsed.functions and cmd.stdin_from == cmd.program:
                matches.append(Match(FORK_BOMB, Risk.CATASTROPHIC, FORK_BOMB_REASON, None, cmd.text))
                risk = Risk.CATASTROPHIC
        for reason, at in problems:
            matches.append(Match(CANNOT_ANALYSE, Risk.DESTRUCTIVE, reason, CANNOT_ANALYSE_SUGGEST, at))
            risk = max(risk, Risk.DESTRUCTIVE)
        matches = _dedupe(matches)
        decision = self.config.decide(Risk(risk), mode == "opaque", bool(unknown))
        notes = tuple(f"unknown program: {p}" for p in dict.fromkeys(unknown))
        notes += tuple(dict.fromkeys(prod_notes))
        return Verdict(text, decision, Risk(risk), tuple(matches), mode, tuple(expansion.commands), notes,
                       (text,) + tuple(expansion.texts))

    def evaluate(self, cmd: Command, ctx: Context, cwds: list[str]) -> tuple[Risk, list[Match], bool]:
        """Risk of one simple command: the strictest matching rule, else the program's default."""
        rules = self.rules
        prog = cmd.program
        spec = rules.program(prog)
        view = View(cmd, spec)
        found: list[Match] = []
        known = True
        program_risk = Risk.READ_ONLY
        if not cmd.words:
            for rule in rules.for_program(""):
                if self._applies(rule, cmd, view, ctx, cwds):
                    found.append(_match(rule, cmd))
            if found:
                program_risk = max(m.risk for m in found)
        else:
            if view.help:
                program_risk = Risk.READ_ONLY
            else:
                first = view.positionals[0].value if view.positionals else None
                for rule in rules.for_subcommand(prog, first):
                    if self._applies(rule, cmd, view, ctx, cwds):
                        found.append(_match(rule, cmd))
                for rule in rules.glob_rules:
                    if any_match(rule["match"]["program"], prog) and self._applies(rule, cmd, view, ctx, cwds):
                        found.append(_match(rule, cmd))
                if view.positionals and view.positionals[0].dynamic and prog in rules.with_subcommands:
                    found.append(Match(CANNOT_ANALYSE, Risk.DESTRUCTIVE,
                                       f"the {prog} subcommand is built at run time ({view.positionals[0].value}): "
                                       "guardsh cannot tell which rules apply", CANNOT_ANALYSE_SUGGEST, cmd.text))
                if found:
                    program_risk = max(m.risk for m in found)
                else:
                    default = rules.default_risk(prog)
                    if default is None:
                        known = rules.is_known(prog)
                        default = Risk.REVERSIBLE
                    program_risk = default
        extra = [_match(rule, cmd) for rule in rules.any_rules
                 if _could_apply(rule["match"], cmd) and self._applies(rule, cmd, view, ctx, cwds)]
        risk = max([program_risk] + [m.risk for m in extra])
        return Risk(risk), found + extra, known

    def _applies(self, rule: dict[str, Any], cmd: Command, view: View, ctx: Context, cwds: list[str]) -> bool:
        if rule["id"] in self._disabled:
            return False
        match = rule["match"]
        if not check(match, cmd, view, ctx, cwds):
            return False
        skip = len(match.get("subcommand", ()))  # an unless entry reads args after the rule's subcommand
        for cond in rule["unless"]:
            if check(cond, cmd, view, ctx, cwds, skip):
                return False
        return True


def _could_apply(match: dict[str, Any], cmd: Command) -> bool:
    """Cheap pre-check for rules on every program: redirection rules need a redirection,
    assignment rules an assignment (most commands have neither)."""
    if not cmd.redirects and ("redirects" in match or "redirect_paths" in match):
        return False
    return bool(cmd.assignments) or "assigns" not in match


def _match(rule: dict[str, Any], cmd: Command) -> Match:
    at = cmd.text or " ".join(cmd.argv)
    return Match(rule["id"], Risk(rule["risk"]), rule["reason"], rule["suggest"], at)


def _dedupe(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str]] = set()
    out: list[Match] = []
    for m in sorted(matches, key=lambda m: -m.risk):
        key = (m.rule, m.at)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def check(cond: dict[str, Any], cmd: Command, view: View, ctx: Context, cwds: list[str], skip: int = 0) -> bool:
    """Does one match condition (a rule's ``match`` or one ``unless`` entry) hold?

    ``skip``: positionals already read as the rule's subcommand (for ``unless`` entries that
    name no subcommand of their own), so ``args`` means the same in ``match`` and ``unless``.
    """
    args = view.positionals
    sub = cond.get("subcommand")
    if sub is None:
        args = args[skip:]
    else:
        if len(args) < len(sub):
            return False
        for k, patterns in enumerate(sub):
            if args[k].dynamic or not any_match(patterns, args[k].value):
                return False
        args = args[len(sub):]
    for key, want in cond.items():
        if key in ("program", "subcommand"):
            continue
        if key == "flags":
            if not any(any_match(want, f) for f in view.flags):
                return False
        elif key == "all_flags":
            if not all(any(gmatch(p, f) for f in view.flags) for p in want):
                return False
        elif key == "options":
            for name, patterns in want.items():
                if not any(n == name and any_match(patterns, v) for n, v in view.options):
                    return False
        elif key == "args":
            if not any(any_match(want, a.value) for a in args):
                return False
        elif key == "min_args":
            if len(args) < want:
                return False
        elif key == "words":
            if not any(any_match(want, w.value) for w in cmd.words[1:]):
                return False
        elif key == "paths":
            if not _paths_any(want, args, cmd, ctx, cwds):
                return False
        elif key == "all_paths":
            if not args or cmd.args_from_stdin:
                return False
            if not all(ctx.path_classes(a, cwds) & set(want) for a in args):
                return False
        elif key == "dest_paths":
            dest = _destination(args, view, cmd.program)
            if dest is None or not ctx.path_classes(dest, cwds) & set(want):
                return False
        elif key == "source_paths":
            dest = _destination(args, view, cmd.program)
            sources = args[:-1] if dest is not None and args and dest is args[-1] else list(args)
            if not _paths_any(want, sources, cmd, ctx, cwds):
                return False
        elif key == "redirects":
            if not any(r.writes and r.target is not None and any_match(want, r.target.value) for r in cmd.redirects):
                return False
        elif key == "redirect_paths":
            if not any(r.writes and r.target is not None and ctx.path_classes(r.target, cwds) & set(want)
                       for r in cmd.redirects):
                return False
        elif key == "stdin":
            if cmd.stdin != want:
                return False
        elif key == "stdin_from":
            if cmd.stdin_from is None or not any_match(want, cmd.stdin_from):
                return False
        elif key == "assigns":
            if not any(any_match(want, name) for name, _ in cmd.assignments):
                return False
        elif key == "env":
            for name, patterns in want.items():
                value = next((w.value for n, w in reversed(cmd.assignments) if n == name), ctx.env.get(name))
                if value is None or not any_match(patterns, value):
                    return False
        elif key == "via":
            if not any(any_match(want, v) for v in cmd.via):
                return False
        elif key == "args_from_stdin":
            if cmd.args_from_stdin != want:
                return False
    return True


TARGET_DIRECTORY_PROGRAMS = frozenset({"cp", "mv", "ln", "install"})


def _destination(args: list[Word], view: View, program: str) -> Word | None:
    """The destination of cp/mv/install/ln style commands: ``-t DIR`` or the last argument."""
    if program in TARGET_DIRECTORY_PROGRAMS:  # elsewhere -t means something else (mount -t TYPE)
        for name, value in view.options:
            if name in ("-t", "--target-directory"):
                return Word(value)
    return args[-1] if len(args) >= 2 else None


def _paths_any(want: tuple[str, ...], args: list[Word], cmd: Command, ctx: Context, cwds: list[str]) -> bool:
    wanted = set(want)
    if cmd.args_from_stdin and "unresolved" in wanted:
        return True
    return any(ctx.path_classes(a, cwds) & wanted for a in args)


__all__ = ["Classifier", "Context", "Decision", "View", "check", "find_workspace"]
