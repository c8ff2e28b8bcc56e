"""Look inside wrappers: the commands that ``sudo``, ``xargs``, ``find -exec``, ``bash -c``,
``eval``, ``ssh``, ``kubectl exec``, scripts and sourced files will run.

``expand`` turns parsed simple commands into the list that rules classify.  A wrapper that
only runs another command (``sudo``, ``env``, ``timeout``, ``bash -c``...) is replaced by
what it runs; one that acts by itself too (``find``, ``ssh``, ``kubectl exec``) is kept
beside what it runs.  What cannot be seen through (``eval "$x"``, ``$CMD``, a pipe into a
shell, a missing script) is reported as a problem, which makes the verdict ask.
"""
from __future__ import annotations

import os

from guardsh.engine.invocation import parse_shell_argv
from guardsh.engine.model import Command, Word
from guardsh.engine.parse import MAX_DEPTH, parse_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "rbash", "busybox-sh", "guardsh"})
GUARDSH_SUBCOMMANDS = frozenset({"check", "rules", "version", "help", "audit", "log", "approver", "hook", "wrap"})
MAX_FILE = 1024 * 1024
TRUSTED_SOURCES = (
    ".claude/shell-snapshots/",  # Claude Code's snapshot of the user's shell functions
    ".codex/shell_snapshots/",  # Codex's equivalent
)


class Expansion:
    __slots__ = ("commands", "problems", "mode", "texts")

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.texts: list[str] = []  # shell texts found inside wrappers (bash -c, eval, scripts)
        self.problems: list[tuple[str, str]] = []  # (reason, command text)
        self.mode = "full"

    def worsen(self, mode: str) -> None:
        order = ("full", "fallback", "opaque")
        if order.index(mode) > order.index(self.mode):
            self.mode = mode

    def problem(self, reason: str, cmd: Command) -> None:
        self.problems.append((reason, cmd.text or " ".join(cmd.argv)))


class Reader:
    """Where files named by commands are read from (scripts, sourced files)."""

    __slots__ = ("cwd", "read_files", "stdin_is_tty", "home")

    def __init__(self, cwd: str, read_files: bool = True, stdin_is_tty: bool = True, home: str = "") -> None:
        self.cwd = cwd
        self.read_files = read_files
        self.stdin_is_tty = stdin_is_tty
        self.home = home

    def trusted_source(self, path: str) -> bool:
        """An agent's shell snapshot, in the user's own home directory (writing there asks)."""
        if not self.home or ".." in path.split("/"):
            return False
        full = os.path.normpath(os.path.join(self.cwd, path.replace("~", self.home, 1) if path.startswith("~") else path))
        return any(full.startswith(os.path.join(self.home, t)) for t in TRUSTED_SOURCES)

    def read(self, path: str) -> str | None:
        """Text of a script file, or None when it cannot be read or is not text."""
        if not self.read_files:
            return None
        full = os.path.join(self.cwd, os.path.expanduser(path))
        if not _regular_file(full):
            return None  # /dev/stdin, a FIFO, a directory: reading it would steal or block
        try:
            with open(full, "rb") as f:
                data = f.read(MAX_FILE + 1)
        except OSError:
            return None
        if len(data) > MAX_FILE or b"\0" in data[:4096]:
            return None
        return data.decode("utf-8", errors="replace")

    def is_shell_script(self, path: str) -> bool | None:
        """True for a shell script, False for another program, None when it does not exist."""
        if not self.read_files:
            return None
        full = os.path.join(self.cwd, os.path.expanduser(path))
        if os.path.exists(full) and not _regular_file(full):
            return True  # a FIFO or device as a script: treat as a script guardsh cannot read
        try:
            with open(full, "rb") as f:
                head = f.read(256)
        except OSError:
            return None
        if head.startswith(b"#!"):
            line = head.split(b"\n", 1)[0]
            interp = line[2:].strip().split()
            if not interp:
                return True
            name = interp[0].rsplit(b"/", 1)[-1]
            if name == b"env" and len(interp) > 1:
                name = interp[-1].rsplit(b"/", 1)[-1]
            return name.decode(errors="replace") in SHELLS
        return b"\0" not in head and not head.startswith(b"\x7fELF")


def _regular_file(path: str) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def join_words(words: tuple[Word, ...] | list[Word]) -> str:
    out = []
    for w in words:
        v = w.value
        if not v or any(c in v for c in " \t\n'\"\\$`;&|<>()*?[]#~{}"):
            v = "'" + v.replace("'", "'\\''") + "'"
        out.append(v)
    return " ".join(out)


def skip_options(
    words: tuple[Word, ...],
    start: int,
    value_short: str = "",
    value_long: frozenset[str] = frozenset(),
    numeric_ok: bool = False,
) -> int:
    """Index of the first non-option word at or after ``start``."""
    i, n = start, len(words)
    while i < n:
        w = words[i].value
        if w == "--":
            return i + 1
        if not w.startswith("-") or w == "-":
            return i
        if w.startswith("--"):
            name, eq, _ = w.partition("=")
            i += 1
            if not eq and name in value_long:
                i += 1
            continue
        if numeric_ok and w[1:].isdigit():
            i += 1
            continue
        j = 1
        i += 1
        while j < len(w):
            if w[j] in value_short:
                if j == len(w) - 1:
                    i += 1
                break
            j += 1
    return i


def expand(commands: list[Command], reader: Reader, depth: int = 0) -> Expansion:
    out = Expansion()
    for cmd in commands:
        expand_one(cmd, reader, out, depth)
    return out


def expand_one(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    if depth > MAX_DEPTH:
        out.problem("wrappers nested too deep to analyse", cmd)
        out.worsen("opaque")
        return
    if not cmd.words:
        out.commands.append(cmd)
        return
    first = cmd.words[0]
    if first.dynamic:
        out.problem(f"the program is named by an expansion ({first.value}): guardsh cannot tell what runs", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    if first.glob:
        out.problem(f"the program is a pattern ({first.value}): bash expands it to a name guardsh cannot see", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    handler = HANDLERS.get(cmd.program)
    if handler is None and cmd.program in SHELLS:
        handler = _shell
    if handler is not None:
        handler(cmd, reader, out, depth)
        return
    if "/" in first.value and not first.glob:
        _script(cmd, reader, out, depth)
        return
    out.commands.append(cmd)


def _inner(cmd: Command, start: int, label: str, out: Expansion, reader: Reader, depth: int,
           assignments: tuple[tuple[str, Word], ...] = (), args_from_stdin: bool = False,
           end: int | None = None) -> bool:
    """Classify ``cmd.words[start:end]`` as the command a wrapper runs; False if there is none."""
    words = cmd.words[start:end]
    if not words:
        return False
    inner = Command(
        words=words,
        assignments=cmd.assignments + assignments,
        redirects=cmd.redirects,
        text=join_words(words),
        via=cmd.via + (label,),
        stdin=cmd.stdin,
        stdin_from=cmd.stdin_from,
        args_from_stdin=cmd.args_from_stdin or args_from_stdin,
    )
    expand_one(inner, reader, out, depth + 1)
    return True


def _text(cmd: Command, text: str, label: str, out: Expansion, reader: Reader, depth: int,
          params: dict[str, str] | None = None, args_from_stdin: bool = False) -> None:
    """Classify shell text that a wrapper will run (``bash -c``, ``eval``, ``ssh host CMD``)."""
    out.texts.append(text)
    parsed = parse_script(text, params, cmd.via + (label,), depth + 1)
    out.worsen(parsed.mode)
    for reason in parsed.problems:
        out.problem(reason, cmd)
    for inner in parsed.commands:
        if args_from_stdin:
            inner = inner.replace(args_from_stdin=True)
        expand_one(inner, reader, out, depth + 1)


def _sudo(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "ugChpUrtTDR", frozenset({
        "--user", "--group", "--close-from", "--host", "--prompt", "--other-user", "--role",
        "--type", "--command-timeout", "--chdir", "--chroot"}))
    flags = {w.value for w in words[1:i]}
    if "-e" in flags or "--edit" in flags:  # sudoedit: the words are files to edit
        out.commands.append(cmd)
        return
    if not _inner(cmd, i, cmd.program, out, reader, depth):
        if any(f in flags for f in ("-i", "-s", "--login", "--shell")) or any(
            f.startswith("-") and not f.startswith("--") and ("i" in f or "s" in f) for f in flags
        ):
            out.problem(f"{cmd.program} opens an interactive root shell: guardsh cannot see what it will run", cmd)
            out.worsen("opaque")
        out.commands.append(cmd)


def _env(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i, n = 1, len(words)
    while i < n:
        w = words[i].value
        if w in ("-S", "--split-string") or w.startswith("--split-string="):
            text = w.partition("=")[2] if "=" in w else (words[i + 1].value if i + 1 < n else "")
            rest = join_words(words[i + (1 if "=" in w else 2):])
            _text(cmd, text + (" " + rest if rest else ""), "env -S", out, reader, depth)
            return
        if w in ("-u", "--unset", "-C", "--chdir"):
            i += 2
            continue
        if w == "--":
            i += 1
            break
        if w.startswith("-"):  # includes a lone "-", which means -i
            i += 1
            continue
        break
    assignments: list[tuple[str, Word]] = []
    while i < n and "=" in words[i].value and not words[i].value.startswith("="):
        name, _, value = words[i].value.partition("=")
        assignments.append((name, Word(value, words[i].dynamic)))
        i += 1
    if not _inner(cmd, i, "env", out, reader, depth, tuple(assignments)):
        out.commands.append(cmd)


def _simple_wrapper(value_short: str, value_long: frozenset[str] = frozenset(), positionals: int = 0,
                    numeric_ok: bool = False) -> Callable[[Command, Reader, Expansion, int], None]:
    """A wrapper that takes options, then ``positionals`` words of its own, then a command."""

    def handler(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        i = skip_options(cmd.words, 1, value_short, value_long, numeric_ok)
        i += positionals
        if not _inner(cmd, i, cmd.program, out, reader, depth):
            out.commands.append(cmd)

    return handler


def _command(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    values = [w.value for w in cmd.words[1:]]
    if any(v in ("-v", "-V") or (v.startswith("-") and ("v" in v or "V" in v)) for v in values[:2]):
        out.commands.append(cmd)  # a lookup: command -v git
        return
    i = skip_options(cmd.words, 1)
    if not _inner(cmd, i, cmd.program, out, reader, depth):
        out.commands.append(cmd)


def _exec(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    i = skip_options(cmd.words, 1, "a")
    if not _inner(cmd, i, "exec", out, reader, depth):
        out.commands.append(cmd)  # exec >file: only redirections


def _xargs(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    # -e, -i, -l (and --eof, --replace, --max-lines) take only an attached value, never the next word
    i = skip_options(cmd.words, 1, "adEILnPs", frozenset({
        "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"}))
    if not _inner(cmd, i, "xargs", out, reader, depth, args_from_stdin=True):
        out.commands.append(cmd)  # xargs alone runs echo


def _parallel(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "jNnLSdEIa", frozenset({
        "--jobs", "--sshlogin", "--delimiter", "--colsep", "--arg-file", "--results", "--joblog",
        "--tmpdir", "--halt", "--timeout", "--delay", "--load", "--memfree", "--workdir", "--env"}))
    end = i
    while end < len(words) and not words[end].value.startswith(":::"):
        end += 1
    if end > i:
        _text(cmd, join_words(words[i:end]) if end - i > 1 else words[i].value, "parallel", out, reader,
              depth, args_from_stdin=True)
    else:
        out.commands.append(cmd)


def _find(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """find itself (for -delete), and each -exec/-execdir/-ok command with ``{}`` standing for
    what find visits: the start paths themselves, and whatever lies under them."""
    out.commands.append(cmd)
    words = cmd.words
    i, n = 1, len(words)
    while i < n and words[i].value in ("-H", "-L", "-P") or (i < n and words[i].value.startswith("-O")):
        i += 1
    starts: list[Word] = []
    while i < n and not words[i].value.startswith("-") and words[i].value not in ("(", "!", ","):
        starts.append(words[i])
        i += 1
    starts = starts or [Word(".")]
    while i < n:
        if words[i].value in ("-exec", "-execdir", "-ok", "-okdir"):
            label = f"find {words[i].value}"
            j = i + 1
            while j < n and words[j].value not in (";", "+"):
                j += 1
            body = words[i + 1 : j]
            if words[i].value.endswith("dir"):  # -execdir runs in each file's directory: ./name
                targets = [Word("./*", glob=True, dynamic=True)]
            else:
                targets = [w for start in starts for w in (start, _child_of(start))]
            for target in targets:
                inner = tuple(_replace_braces(w, target) for w in body)
                _inner(cmd.replace(redirects=(), words=inner), 0, label, out, reader, depth)
            i = j + 1
            continue
        i += 1


def _child_of(start: Word) -> Word:
    return Word(start.value.rstrip("/") + "/*", dynamic=start.dynamic, glob=True, tilde=start.tilde)


def _replace_braces(word: Word, target: Word) -> Word:
    if "{}" not in word.value:
        return word
    return Word(word.value.replace("{}", target.value), word.dynamic or target.dynamic,
                word.glob or target.glob, word.subs, target.tilde if word.value.startswith("{}") else word.tilde)


SSH_VALUE_OPTIONS = "bcDEeFIiJLlmOopQRSWwB"


def _ssh(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    i = skip_options(cmd.words, 1, SSH_VALUE_OPTIONS)
    if i + 1 < len(cmd.words):
        host = cmd.words[i].value
        j = skip_options(cmd.words, i + 1, SSH_VALUE_OPTIONS)  # ssh reads options after the host too
        remote = cmd.words[j:]
        text = " ".join(w.value for w in remote)
        if any(w.dynamic for w in remote):
            out.problem("the remote command holds expansions made before ssh sends it", cmd)
        _text(cmd.replace(redirects=(), stdin=None), text, f"ssh {host}", out, reader, depth)


GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env"})


def _git(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """git itself, and the shell commands git runs for it: ``submodule foreach CMD``,
    ``rebase --exec CMD`` / ``-x CMD``, ``bisect run CMD ARGS``."""
    out.commands.append(cmd)
    words = cmd.words
    values = [w.value for w in words]
    i = 1
    while i < len(values) and values[i].startswith("-"):
        i += 2 if values[i] in GIT_VALUE_OPTIONS else 1
    if i >= len(values):
        return
    sub = values[i]
    plain = cmd.replace(redirects=(), stdin=None)
    if sub == "submodule" and "foreach" in values[i + 1:]:
        k = values.index("foreach", i + 1) + 1
        while k < len(values) and values[k] in ("--recursive", "-q", "--quiet"):
            k += 1
        if k < len(words):
            _text(plain, " ".join(values[k:]), "git submodule foreach", out, reader, depth)
    elif sub == "rebase":
        for k in range(i + 1, len(values)):
            v = values[k]
            if v in ("-x", "--exec") and k + 1 < len(values):
                _text(plain, values[k + 1], "git rebase --exec", out, reader, depth)
            elif v.startswith("--exec="):
                _text(plain, v.partition("=")[2], "git rebase --exec", out, reader, depth)
    elif sub == "bisect" and i + 1 < len(values) and values[i + 1] == "run":
        _inner(plain, i + 2, "git bisect run", out, reader, depth)


def _kubectl(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """kubectl itself, and the command after ``--`` of exec, debug and run (which runs in a
    container, or on the node for ``kubectl debug node/...``)."""
    out.commands.append(cmd)
    values = [w.value for w in cmd.words]
    if "--" in values:
        k = values.index("--")
        verbs = [v for v in values[1:k] if v in ("exec", "debug", "run", "attach")]
        if verbs:
            _inner(cmd.replace(redirects=()), k + 1, f"{cmd.program} {verbs[0]}", out, reader, depth)
    elif cmd.program == "oc" and len(values) > 2 and values[1] == "rsh":
        i = skip_options(cmd.words, 2, "c", frozenset({"--container", "--shell", "--timeout"}))
        _inner(cmd.replace(redirects=()), i + 1, "oc rsh", out, reader, depth)


def _bundled_kubectl(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``microk8s kubectl ...``, ``k3s kubectl ...``, ``minikube kubectl -- ...``: the
    bundled CLI is the real one."""
    values = [w.value for w in cmd.words]
    if len(values) > 1 and values[1] in ("kubectl", "helm", "helm3", "ctr", "crictl", "oc"):
        start = 1
        if cmd.program == "minikube" and "--" in values:
            rest = cmd.words[values.index("--") + 1:]
            inner = cmd.replace(words=(Word("kubectl"),) + rest, via=cmd.via + ("minikube",),
                                text=join_words((Word("kubectl"),) + rest))
            expand_one(inner, reader, out, depth + 1)
            return
        _inner(cmd, start, cmd.program, out, reader, depth)
        return
    out.commands.append(cmd)


COMPOSE_OPTIONS = frozenset({"--file", "--project-name", "--profile", "--env-file", "--project-directory"})


def _docker(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """docker/podman itself, and the command of ``docker [container] exec C CMD`` and
    ``docker compose exec`` / ``docker-compose exec SERVICE CMD``."""
    out.commands.append(cmd)
    words = cmd.words
    if cmd.program == "docker-compose":
        i = skip_options(words, 1, "fp", COMPOSE_OPTIONS)
    else:
        i = skip_options(words, 1, "cHl", frozenset({"--context", "--host", "--config", "--log-level"}))
        if i < len(words) and words[i].value == "compose":
            i = skip_options(words, i + 1, "fp", COMPOSE_OPTIONS)
        elif i < len(words) and words[i].value == "container":
            i += 1
    if i < len(words) and words[i].value == "exec":
        j = skip_options(words, i + 1, "euw", frozenset({"--env", "--env-file", "--user", "--workdir",
                                                           "--detach-keys", "--index"}))
        _inner(cmd.replace(redirects=()), j + 1, f"{cmd.program} exec", out, reader, depth)


def _shell(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    if cmd.program == "guardsh" and len(cmd.words) > 1 and cmd.words[1].value in GUARDSH_SUBCOMMANDS:
        out.commands.append(cmd)  # guardsh check/rules/...: not a shell invocation
        return
    inv = parse_shell_argv([w.value for w in cmd.words[1:]], cmd.words[0].value)
    label = cmd.program
    if inv.info or inv.noexec:
        out.commands.append(cmd)
        return
    if inv.command is not None:
        if any(w.dynamic for w in cmd.words[1:] if w.value == inv.command):
            out.problem(f"{label} -c runs a string built at run time", cmd)
            out.worsen("opaque")
        if cmd.args_from_stdin or any(w.dynamic for w in cmd.words[1:]):
            # xargs/find add arguments at run time: "$@" is unknown, not empty
            _text(cmd, inv.command, f"{label} -c", out, reader, depth, None, args_from_stdin=cmd.args_from_stdin)
        else:
            _text(cmd, inv.command, f"{label} -c", out, reader, depth, inv.params(label))
        return
    if inv.script is not None:
        body = _stdin_body(cmd, inv.script)
        if body is not None:
            _text(cmd, body, f"{label} {inv.script}", out, reader, depth, inv.params(label))
            return
        text = reader.read(inv.script)
        if text is None:
            out.problem(f"{label} runs the script {inv.script}, which guardsh cannot read", cmd)
            out.worsen("opaque")
            out.commands.append(cmd)
            return
        _text(cmd, text, f"{label} {inv.script}", out, reader, depth, inv.params(label))
        return
    _shell_stdin(cmd, label, out, reader, depth)


STDIN_PATHS = ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def _stdin_body(cmd: Command, path: str) -> str | None:
    """``bash /dev/stdin <<< CMD``: the script is the command's own here-document or string."""
    if path not in STDIN_PATHS:
        return None
    for r in cmd.redirects:
        if r.heredoc is not None and r.fd in (None, 0):
            return r.heredoc
    return None


def _shell_stdin(cmd: Command, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """A shell reading its commands from standard input."""
    for r in cmd.redirects:
        if r.heredoc is not None and r.fd in (None, 0):
            _text(cmd, r.heredoc, f"{label} <<", out, reader, depth)
            return
        if r.op == "<" and r.fd in (None, 0) and r.target is not None:
            target = r.target
            text = None if target.dynamic or target.subs else reader.read(target.value)
            if target.subs:  # bash <(curl ...): the script is another command's output
                out.problem(f"{label} runs the output of another command ({target.value})", cmd)
            elif text is None:
                out.problem(f"{label} runs {target.value}, which guardsh cannot read", cmd)
            else:
                _text(cmd, text, f"{label} < {target.value}", out, reader, depth)
                return
            out.worsen("opaque")
            out.commands.append(cmd)
            return
    if cmd.stdin == "pipe":
        source = f" from {cmd.stdin_from}" if cmd.stdin_from else ""
        out.problem(f"a shell runs commands read from a pipe{source}: guardsh cannot see them", cmd)
        out.worsen("opaque")
    elif not reader.stdin_is_tty:
        out.problem(f"{label} reads commands from standard input, which guardsh cannot see", cmd)
        out.worsen("opaque")
    out.commands.append(cmd)


def _script(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``./deploy.sh args``: a shell script's contents are classified too."""
    out.commands.append(cmd)
    path = cmd.words[0].value
    kind = reader.is_shell_script(path)
    if kind is None:
        if reader.read_files and not os.path.exists(os.path.join(reader.cwd, os.path.expanduser(path))):
            return  # bash will report "No such file"; nothing runs
        if reader.read_files:
            out.problem(f"guardsh cannot read the script {path}", cmd)
            out.worsen("opaque")
        return
    if not kind:
        return
    text = reader.read(path)
    if text is None:
        out.problem(f"guardsh cannot read the script {path}", cmd)
        out.worsen("opaque")
        return
    params = {"0": path, "#": str(len(cmd.words) - 1)}
    for k, w in enumerate(cmd.words[1:], 1):
        params[str(k)] = w.value
    _text(cmd, text, f"script {path}", out, reader, depth, params)


def _eval(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words[1:]
    if any(w.dynamic for w in words):
        out.problem("eval of a string built at run time: guardsh cannot tell what runs", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    _text(cmd, " ".join(w.value for w in words), "eval", out, reader, depth)


def _source(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    if len(cmd.words) < 2:
        return
    target = cmd.words[1]
    if target.dynamic:
        out.problem(f"{cmd.program} of a file named at run time ({target.value})", cmd)
        out.worsen("opaque")
        return
    if reader.trusted_source(target.value):
        return
    body = _stdin_body(cmd, target.value)
    text = body if body is not None else reader.read(target.value)
    if text is None:
        out.problem(f"{cmd.program} of {target.value}, which guardsh cannot read", cmd)
        out.worsen("opaque")
        return
    _text(cmd, text, f"source {target.value}", out, reader, depth)


def _trap(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    words = cmd.words[1:]
    if words and words[0].value == "--":
        words = words[1:]
    if len(words) >= 2 and not words[0].value.startswith("-"):
        if words[0].dynamic:
            out.problem("trap runs a string built at run time", cmd)
            out.worsen("opaque")
        else:
            _text(cmd, words[0].value, "trap", out, reader, depth)


def _alias(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """An alias's value is shell code that runs wherever the alias is used."""
    out.commands.append(cmd)
    for w in cmd.words[1:]:
        name, eq, value = w.value.partition("=")
        if eq and value:
            if w.dynamic:
                out.problem(f"alias {name} is defined from a value built at run time", cmd)
                out.worsen("opaque")
            else:
                _text(cmd, value, f"alias {name}", out, reader, depth)


def _su(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    values = [w.value for w in cmd.words]
    for k, v in enumerate(values):
        if v in ("-c", "--command") and k + 1 < len(values):
            _text(cmd, values[k + 1], "su -c", out, reader, depth)
            return
        if v.startswith("--command="):
            _text(cmd, v.partition("=")[2], "su -c", out, reader, depth)
            return
    if cmd.program == "runuser" and "--" in values:
        _inner(cmd, values.index("--") + 1, "runuser", out, reader, depth)
        return
    out.problem(f"{cmd.program} opens an interactive shell as another user", cmd)
    out.worsen("opaque")
    out.commands.append(cmd)


def _watch(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "nq", frozenset({"--interval", "--equexit"}))
    flags = {w.value for w in words[1:i]}
    if i >= len(words):
        out.commands.append(cmd)
    elif "-x" in flags or "--exec" in flags:
        _inner(cmd, i, "watch", out, reader, depth)
    else:
        _text(cmd, " ".join(w.value for w in words[i:]), "watch", out, reader, depth)


def _flock(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "wE", frozenset({"--timeout", "--wait", "--conflict-exit-code"}))
    values = [w.value for w in words]
    if i + 2 < len(words) and values[i + 1] in ("-c", "--command"):
        _text(cmd, values[i + 2], "flock -c", out, reader, depth)
    elif not _inner(cmd, i + 1, "flock", out, reader, depth):
        out.commands.append(cmd)


def _lazy(name: str) -> Callable[[Command, Reader, Expansion, int], None]:
    """A handler from guardsh.engine.inline (SQL, Redis, MongoDB, interpreter code), imported on first use."""

    def handler(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        from guardsh.engine import inline

        getattr(inline, name)(cmd, reader, out, depth)

    return handler


INLINE_HANDLERS = {
    **dict.fromkeys(("psql", "mysql", "mariadb", "sqlite3"), _lazy("sql_cli")),
    "redis-cli": _lazy("redis_cli"), "valkey-cli": _lazy("redis_cli"),
    **dict.fromkeys(("mongosh", "mongo"), _lazy("mongo_cli")),
    **dict.fromkeys(("python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "node", "nodejs", "deno",
                     "php") + tuple(f"python3.{v}" for v in range(6, 16)), _lazy("interpreter")),
}


HANDLERS: dict[str, Callable[[Command, Reader, Expansion, int], None]] = {
    "sudo": _sudo,
    "doas": _sudo,
    "env": _env,
    "nice": _simple_wrapper("n", frozenset({"--adjustment"}), numeric_ok=True),
    "ionice": _simple_wrapper("cnpPu", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"})),
    "nohup": _simple_wrapper(""),
    "timeout": _simple_wrapper("sk", frozenset({"--signal", "--kill-after"}), positionals=1),
    "time": _simple_wrapper("fo", frozenset({"--format", "--output"})),
    "command": _command,
    "builtin": _simple_wrapper(""),
    "exec": _exec,
    "stdbuf": _simple_wrapper("ioe", frozenset({"--input", "--output", "--error"})),
    "setsid": _simple_wrapper(""),
    "unbuffer": _simple_wrapper(""),
    "chrt": _simple_wrapper("", positionals=1),
    "taskset": _simple_wrapper("", positionals=1),
    "chroot": _simple_wrapper("", frozenset({"--userspec", "--groups"}), positionals=1),
    "xargs": _xargs,
    "parallel": _parallel,
    "find": _find,
    "ssh": _ssh,
    "git": _git,
    "kubectl": _kubectl,
    "oc": _kubectl,
    "microk8s": _bundled_kubectl,
    "microk8s.kubectl": _simple_wrapper(""),
    "k3s": _bundled_kubectl,
    "minikube": _bundled_kubectl,
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
    "docker-compose": _docker,
    "eval": _eval,
    "source": _source,
    ".": _source,
    "trap": _trap,
    "alias": _alias,
    "su": _su,
    "runuser": _su,
    "watch": _watch,
    "flock": _flock,
    **INLINE_HANDLERS,
}
