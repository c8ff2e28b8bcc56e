"""What a command would destroy on this machine: the plan a snapshot saves first (issue 14).

Pure: it reads the directory tree (to expand globs as bash would, and to see whether a
destination exists) and nothing else.  The faces hand the plan to ``guardsh.undo``, which saves
the targets before bash runs and can put them back.

``FILE_TARGETS`` and ``GIT_TARGETS`` (``undotargets.py``) describe, as data, which words of which command name what
it destroys.  A command whose targets cannot be known before it runs (a word built at run time,
arguments from stdin, a command on another machine) has an *unknown* plan: nothing is saved for
it and it keeps the decision its rules give it.
"""
from __future__ import annotations

import os

from guardsh.engine.context import PROTECTED, Context
from guardsh.engine.model import Command, Risk, Verdict, Word
from guardsh.engine.undotargets import (FILE_TARGETS, GIT_SUB_VALUES, GIT_TARGETS, GIT_VALUES, LOCAL_VIA, REMOTE_VIA,
                                        TRUNCATING)

class FileTarget:
    """One path the command destroys: ``unlinks`` when the command only unlinks it."""

    __slots__ = ("path", "unlinks")

    def __init__(self, path: str, unlinks: bool) -> None:
        self.path = path
        self.unlinks = unlinks

    def __repr__(self) -> str:
        return f"FileTarget({self.path!r}, unlinks={self.unlinks})"


class GitTarget:
    """git state one command loses, in the repository at ``repo`` (the directory git runs in)."""

    __slots__ = ("repo", "sub", "refs", "ref_names", "worktree", "clean_args", "stash", "push", "linked", "commit")

    def __init__(self, repo: str, sub: str, refs: str | None = None, ref_names: tuple[str, ...] = (),
                 worktree: bool = False, clean_args: tuple[str, ...] | None = None, stash: bool = False,
                 push: tuple[str, ...] | None = None) -> None:
        self.repo = repo
        self.sub = sub
        self.refs = refs            # None | HEAD | names | all
        self.ref_names = ref_names  # full ref names (refs/heads/x) or short names
        self.worktree = worktree
        self.clean_args = clean_args  # the clean command's own options and paths, for git clean -n
        self.stash = stash
        self.push = push            # (remote or '', refspec, ...) when it pushes with force
        self.linked: str | None = None  # a linked worktree it removes (its files are a file target too)
        self.commit: str | None = None  # the commit a reset --hard moves to (its files overwrite untracked ones)

    def __repr__(self) -> str:
        return f"GitTarget({self.repo!r}, {self.sub!r})"


class CommandPlan:
    """What one simple command destroys: files, git state; ``unknown`` says why it cannot be told."""

    __slots__ = ("command", "files", "git", "unknown", "remote", "program")

    def __init__(self, command: Command, files: tuple[FileTarget, ...] = (), git: tuple[GitTarget, ...] = (),
                 unknown: str | None = None, remote: bool = False, program: bool = False) -> None:
        self.command = command
        self.program = program  # the program's own effect is planned (not only a redirection's)
        self.files = files
        self.git = git
        self.unknown = unknown
        self.remote = remote  # it also acts on another machine (git push): saving cannot undo that


def _elsewhere(cmd: Command) -> tuple[str, bool] | None:
    """(why its targets cannot be known here, whether it runs on another machine), or None."""
    for v in cmd.via:
        if v.startswith(REMOTE_VIA):
            return f"it runs elsewhere ({v})", True
        if not v.startswith(LOCAL_VIA):
            return f"it runs inside {v}, whose arguments are known only at run time", False
    return None


def scan_args(words: tuple[Word, ...], values: tuple[str, ...]) -> tuple[set[str], list[tuple[str, Word]], list[Word]]:
    """(flags, (option, value word), positionals) of a command line, short clusters split."""
    flags: set[str] = set()
    options: list[tuple[str, Word]] = []
    positionals: list[Word] = []
    i, n, ended = 0, len(words), False
    while i < n:
        word = words[i]
        w = word.value
        i += 1
        if ended or len(w) < 2 or w[0] != "-" or word.dynamic and w.startswith("$"):
            positionals.append(word)
            continue
        if w == "--":
            ended = True
            continue
        if w.startswith("--") or (w in values):
            name, eq, value = w.partition("=")
            flags.add(name)
            if eq:
                options.append((name, Word(value, word.dynamic, word.glob)))
            elif name in values and i < n:
                options.append((name, words[i]))
                i += 1
            continue
        for j in range(1, len(w)):
            flag = "-" + w[j]
            flags.add(flag)
            if flag in values:
                rest = w[j + 1:]
                if rest:
                    options.append((flag, Word(rest, word.dynamic, word.glob)))
                elif i < n:
                    options.append((flag, words[i]))
                    i += 1
                break
    return flags, options, positionals


def expand(word: Word, cwd: str, home: str) -> list[str] | None:
    """The absolute paths a word names, its glob expanded as bash would (no match: the word
    itself); None when it depends on run-time values."""
    if word.dynamic or word.subs:
        return None
    value = word.value
    if value.startswith("~"):
        head, sep, rest = value.partition("/")
        if head != "~":
            return None
        value = home + (sep + rest if sep else "")
    path = os.path.normpath(os.path.join(cwd, value))
    if value.endswith(("/", "/.")) and os.path.islink(path):
        path = os.path.realpath(path)  # link/ is the directory it points to: rm -rf link/ empties that
    if word.glob:
        import glob as globmod

        found = sorted(globmod.glob(os.path.join(globmod.escape(cwd), value) if not value.startswith("/")
                                    else value))
        found = [os.path.normpath(f) for f in found if os.path.basename(f) not in (".", "..")]
        return found or [path]
    return [path]


def _paths(words: list[Word], cwd: str, home: str) -> list[str] | None:
    out: list[str] = []
    for word in words:
        got = expand(word, cwd, home)
        if got is None:
            return None
        out.extend(got)
    return out


def plan_command(cmd: Command, home: str) -> CommandPlan | None:
    """The plan of one simple command; None when it destroys nothing guardsh knows of."""
    files: list[FileTarget] = []
    unknown: str | None = None
    cwd = cmd.cwd
    for r in cmd.redirects:
        to_file = r.op == ">&" and r.target is not None and not r.target.value.isdigit() and r.target.value != "-"
        if (r.op in TRUNCATING or to_file) and r.target is not None:
            if cwd is None:
                unknown = "the directory it runs in is not known"
                continue
            got = expand(r.target, cwd, home)
            if got is None:
                unknown = f"the redirection target {r.target.value} is built at run time"
            else:
                files.extend(FileTarget(p, False) for p in got if not p.startswith("/dev/"))
    program = cmd.program
    spec = FILE_TARGETS.get(program)
    git: list[GitTarget] = []
    remote = False
    if spec is not None or program == "git":
        elsewhere = _elsewhere(cmd)
        if elsewhere is not None:
            return CommandPlan(cmd, unknown=elsewhere[0], remote=elsewhere[1])
        if cwd is None:
            return CommandPlan(cmd, unknown="the directory it runs in is not known")
        if cmd.args_from_stdin:
            return CommandPlan(cmd, unknown="its arguments arrive at run time")
        if spec is not None:
            got_files = _file_targets(cmd, spec, cwd, home)
            if isinstance(got_files, str):
                unknown = got_files
            else:
                files.extend(got_files)
        else:
            got_git = _git_target(cmd, cwd, home)
            if isinstance(got_git, str):
                unknown = got_git
            elif got_git is not None:
                git.append(got_git)
                remote = got_git.push is not None
                if got_git.linked:  # git worktree remove --force: the worktree's files
                    files.append(FileTarget(got_git.linked, True))
    files = [f for f in files if os.path.lexists(f.path)]  # what does not exist yet, it cannot destroy
    if not files and not git and unknown is None and spec is None:
        return None
    planned = spec is not None or bool(git)
    return CommandPlan(cmd, tuple(files), tuple(git), unknown, remote, planned)


def _file_targets(cmd: Command, spec: dict[str, object], cwd: str, home: str) -> list[FileTarget] | str:
    values = tuple(spec.get("values", ()))  # type: ignore[arg-type]
    words = cmd.words[1:]
    if spec.get("bundled") and words and not words[0].value.startswith("-"):
        words = (Word("-" + words[0].value),) + words[1:]
    flags, options, positionals = scan_args(words, values)
    if spec.get("long_single"):
        flags |= {w.value for w in words}
    when = spec.get("when")
    if when and not flags & set(when):  # type: ignore[arg-type]
        return []
    unknown_with = spec.get("unknown_with", ())
    if flags & set(unknown_with) or any(name in unknown_with for name, _ in options):  # type: ignore[operator]
        return "its targets depend on " + "/".join(sorted(set(unknown_with) & (flags | {n for n, _ in options})))  # type: ignore[arg-type]
    unlinks = bool(spec.get("unlinks"))
    kind = spec["args"]
    if kind == "start":  # find: the starting points, before the first expression word
        starts = []
        for w in cmd.words[1:]:
            if w.value in ("-H", "-L", "-P") and not starts:
                continue
            if w.value.startswith(("-", "(", "!", ")")):
                break
            starts.append(w)
        positionals = starts or [Word(".")]
    elif kind == "after-script":
        script = set(spec.get("script", ()))  # type: ignore[arg-type]
        if not any(name in script for name, _ in options):
            positionals = positionals[1:]
    elif kind in ("dest", "sources+dest"):
        target_dir = [v for name, v in options if name in spec.get("target_dir", ())]  # type: ignore[operator]
        if target_dir:
            dest_word, sources = target_dir[-1], positionals
        elif len(positionals) >= 2 or (program_is_ln(cmd) and positionals):
            if len(positionals) == 1:  # ln -sf TARGET: a link named after it, here
                dest_word, sources = Word("."), positionals
            else:
                dest_word, sources = positionals[-1], positionals[:-1]
        else:
            return []
        dest = _paths([dest_word], cwd, home)
        srcs = _paths(sources, cwd, home)
        if dest is None or srcs is None:
            return "a path is built at run time"
        targets = []
        if "-T" not in flags and "--no-target-directory" not in flags and (target_dir or len(srcs) > 1 or
                                                                              os.path.isdir(dest[0])):
            targets = [os.path.join(dest[0], os.path.basename(s.rstrip("/"))) for s in srcs]
        else:
            targets = dest[:1]
        if kind == "sources+dest":
            targets = srcs + targets
        return [FileTarget(p, False) for p in targets]
    got = _paths(positionals, cwd, home)
    if got is None:
        return "a path is built at run time"
    return [FileTarget(p, unlinks) for p in got]


def program_is_ln(cmd: Command) -> bool:
    return cmd.program == "ln"


def _git_target(cmd: Command, cwd: str, home: str) -> GitTarget | str | None:
    words = cmd.words[1:]
    repo = cwd
    i = 0
    while i < len(words):
        w = words[i].value
        if not w.startswith("-"):
            break
        name = w.partition("=")[0]
        if name in ("--git-dir", "--work-tree", "--namespace"):
            return "it names its repository with " + name
        if name in GIT_VALUES and "=" not in w:
            if name == "-C" and i + 1 < len(words):
                got = expand(words[i + 1], repo, home)
                if got is None:
                    return "its -C directory is built at run time"
                repo = got[0]
            i += 2
            continue
        i += 1
    if i >= len(words):
        return None
    sub_word = words[i]
    if sub_word.dynamic:
        return "its subcommand is built at run time"
    sub = sub_word.value
    spec = GIT_TARGETS.get(sub)
    if spec is None:
        return None
    rest = words[i + 1:]
    flags, options, positionals = scan_args(rest, GIT_SUB_VALUES.get(sub, ()))
    for w in rest:  # +refspec forces a push too
        if sub == "push" and w.value.startswith("+"):
            flags.add("+")
    when = spec.get("when")
    if when and not flags & set(when) and "+" not in flags:  # type: ignore[arg-type]
        return None
    subs = spec.get("subs")
    if subs:
        if not positionals or positionals[0].value not in subs:  # type: ignore[operator]
            return None
    if any(w.dynamic for w in positionals):
        return "a ref or path is built at run time"
    names = tuple(w.value for w in positionals)
    target = GitTarget(repo, sub, worktree=bool(spec.get("worktree")), stash=bool(spec.get("stash")))
    refs = spec.get("refs")
    if refs == "HEAD":
        target.refs = "HEAD"
    elif refs == "all":
        target.refs = "all"
    elif refs == "args":
        target.refs = "names"
        target.ref_names = tuple("refs/heads/" + n for n in names if not n.startswith("-"))
        if not target.ref_names:
            target.refs = "HEAD"
    elif refs == "tags":
        target.refs = "names"
        target.ref_names = tuple("refs/tags/" + n for n in names)
    elif refs == "rebase":
        target.refs = "HEAD" if len(names) < 2 else "names"
        if len(names) >= 2:
            target.ref_names = ("HEAD", "refs/heads/" + names[1])
    elif refs == "update-ref":
        target.refs = "names"
        target.ref_names = names[:1]
    if spec.get("clean"):
        kept = []
        skip = False
        forces = 0
        for w in rest:
            if skip:
                kept.append(w.value)
                skip = False
                continue
            v = w.value
            if v in ("-e", "--exclude"):
                kept.append(v)
                skip = True
            elif v.startswith("-") and not v.startswith("--") and v != "-":
                cluster = "".join(c for c in v[1:] if c in "dxX")
                if cluster:
                    kept.append("-" + cluster)
                forces += v[1:].count("f")
                if v.endswith("e"):  # -e PATTERN in a cluster: the pattern is the next word
                    kept.append("-e")
                    skip = True
            elif v.startswith("--") and v.partition("=")[0] in ("--exclude",):
                kept.append(v)
            elif not v.startswith("-"):
                kept.append(v)
            elif v == "--":
                kept.append(v)
            elif v == "--force":
                forces += 1
        # -n with -f -f lists the nested repositories that -ff removes
        target.clean_args = (("-f", "-f") if forces >= 2 else ()) + tuple(kept)
    if sub in ("reset", "checkout", "switch") and names:  # (a path instead of a commit lists nothing)
        target.commit = names[0]
    if spec.get("push"):
        target.push = names
    if spec.get("worktree_dir"):
        if len(names) < 2:
            return "it names no worktree"
        got = expand(positionals[1], cwd, home)
        if got is None:
            return "its worktree is built at run time"
        target.linked = got[0]
    return target


def _git_subcommand(cmd: Command) -> str | None:
    """git's subcommand word (after its global options), or None; a dynamic one is '?'."""
    words = cmd.words
    i = 1
    while i < len(words):
        w = words[i]
        if w.dynamic:
            return next(iter(GIT_TARGETS))  # cannot tell: look closer
        if not w.value.startswith("-"):
            return w.value
        i += 2 if w.value in GIT_VALUES else 1
    return None


class Plan:
    """Everything a text would destroy locally.  ``complete``: every command that destroys
    something has a known plan (else ``unknown`` says which does not and why)."""

    __slots__ = ("commands", "unknown")

    def __init__(self, commands: tuple[CommandPlan, ...]) -> None:
        self.commands = commands
        self.unknown = tuple(f"{p.command.text or ' '.join(p.command.argv)}: {p.unknown}"
                             for p in commands if p.unknown)

    @property
    def files(self) -> tuple[FileTarget, ...]:
        return tuple(f for p in self.commands for f in p.files)

    @property
    def git(self) -> tuple[GitTarget, ...]:
        return tuple(g for p in self.commands for g in p.git)

    @property
    def empty(self) -> bool:
        return not self.files and not self.git


def plan(verdict: Verdict, home: str) -> Plan:
    """The plan of every simple command the verdict found."""
    found = []
    for cmd in verdict.commands:
        got = plan_command(cmd, home)
        if got is not None:
            found.append(got)
    return Plan(tuple(found))


# Matches that a snapshot of local files can never make reversible.
NOT_LOCAL = ("cannot-analyse", "production-context", "fork-bomb")


def _at(cmd: Command) -> str:
    return cmd.text or " ".join(cmd.argv)


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def place_problem(path: str, cwd: str, ctx: Context, outside: bool, repository: bool = False) -> str | None:
    """Why a snapshot of ``path`` cannot lower the command's risk (None: it can)."""
    ws = ctx.workspace_for(cwd)
    classes = ctx._classify_path(path, cwd)
    if classes & PROTECTED or "/.git/" in path + "/":
        return f"{path} is a protected path"
    if not repository and (os.path.isdir(os.path.join(path, ".git")) or (ws is not None and _under(ws, path))):
        return f"{path} holds a whole repository or workspace"  # more than the agent's own work
    if ws is None or not _under(path, ws):
        if not outside:
            return f"{path} is outside the workspace"
    return None


def lowerable(verdict: Verdict, found: Plan, ctx: Context, inside: bool = True, outside: bool = False) -> str | None:
    """None when saving ``found`` first makes the whole command reversible: it is destructive
    (never catastrophic), fully analysed, and every destructive rule matched a command whose own
    effect is planned, local, and (unless ``outside``) inside the workspace.  Else the reason."""
    if verdict.risk != Risk.DESTRUCTIVE:
        return f"it is {verdict.risk.label}"
    if not inside:
        return "undo.lower is off"
    if verdict.parse == "opaque":
        return "it cannot be analysed"
    good = [p for p in found.commands if p.program and not p.unknown and not p.remote]
    bad = {_at(p.command) for p in found.commands if p not in good}
    planned = {_at(p.command) for p in good} - bad  # one text at two places (after a cd): both must be good
    for m in verdict.matches:
        if m.risk < Risk.DESTRUCTIVE:
            continue
        if m.rule in NOT_LOCAL or m.at not in planned:
            return f"rule {m.rule} is about more than local files guardsh can save"
    for p in good:
        cwd = p.command.cwd or ctx.cwd
        for f in p.files:
            problem = place_problem(f.path, cwd, ctx, outside)
            if problem:
                return problem
        for g in p.git:
            problem = place_problem(g.repo, g.repo, ctx, outside, repository=True)
            if problem:
                return problem
    return None


def may_destroy(verdict: Verdict) -> bool:
    """A cheap first look: could any command destroy something (before any path is read)?"""
    for cmd in verdict.commands:
        if cmd.program in FILE_TARGETS:
            return True
        if cmd.program == "git" and _git_subcommand(cmd) in GIT_TARGETS:
            return True
        if any(r.op in TRUNCATING and r.target is not None for r in cmd.redirects):
            return True
    return False


__all__ = ["FILE_TARGETS", "GIT_TARGETS", "CommandPlan", "FileTarget", "GitTarget", "Plan", "lowerable",
           "may_destroy", "plan", "plan_command"]
