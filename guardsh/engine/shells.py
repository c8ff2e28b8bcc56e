"""Shell code run by a shell or a builtin: ``bash -c``, scripts (named, on stdin, in here-documents),
``source``, ``eval``, ``trap`` and ``alias``.  What guardsh cannot read is a problem: the verdict asks."""
from __future__ import annotations

import os

from guardsh.engine.expansion import Expansion, Reader, inner_text
from guardsh.engine.invocation import parse_shell_argv
from guardsh.engine.model import Command

GUARDSH_SUBCOMMANDS = frozenset({"check", "rules", "version", "help", "audit", "log", "approver", "hook", "wrap",
                                 "daemon", "undo", "snapshots"})


def handle_shell(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
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
            inner_text(cmd, inv.command, f"{label} -c", out, reader, depth, None, args_from_stdin=cmd.args_from_stdin)
        else:
            inner_text(cmd, inv.command, f"{label} -c", out, reader, depth, inv.params(label))
        return
    if inv.script is not None:
        body = stdin_body(cmd, inv.script)
        if body is not None:
            inner_text(cmd, body, f"{label} {inv.script}", out, reader, depth, inv.params(label))
            return
        script = find_script(inv.script, reader, out)
        if script is None:
            out.commands.append(cmd)  # no such file: bash reports it, and nothing runs
            return
        text = reader.read(script)
        if text is None:
            out.problem(f"{label} runs the script {inv.script}, which guardsh cannot read", cmd)
            out.worsen("opaque")
            out.commands.append(cmd)
            return
        inner_text(cmd, text, f"{label} {inv.script}", out, reader, depth, inv.params(label))
        return
    shell_stdin(cmd, label, out, reader, depth)


STDIN_PATHS = ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def find_script(name: str, reader: Reader, out: Expansion, path_first: bool = False) -> str | None:
    """The file ``bash NAME`` (or ``source NAME``) reads: NAME itself, else (no slash) a file of
    that name on PATH; None when there is none (nothing runs).  When guardsh cannot tell, NAME."""
    if "/" in name or not path_first:
        here = reader.exists(name)
        if here is not False or "/" in name:
            return name if here is not False else None
    path = out.state.get("PATH") if out.state is not None else None
    if not isinstance(path, str):
        return name  # PATH unknown: guardsh cannot tell which file runs; try NAME itself
    for d in path.split(":"):
        candidate = os.path.join(d or ".", name)
        if reader.exists(candidate):
            return candidate
    if path_first:
        return name if reader.exists(name) is not False else None
    return None


def stdin_body(cmd: Command, path: str) -> str | None:
    """``bash /dev/stdin <<< CMD``: the script is the command's own here-document or string."""
    if path not in STDIN_PATHS:
        return None
    for r in cmd.redirects:
        if r.heredoc is not None and r.fd in (None, 0):
            return r.heredoc
    return None


def shell_stdin(cmd: Command, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """A shell reading its commands from standard input."""
    for r in cmd.redirects:
        if r.heredoc is not None and r.fd in (None, 0):
            inner_text(cmd, r.heredoc, f"{label} <<", out, reader, depth)
            return
        if r.op == "<" and r.fd in (None, 0) and r.target is not None:
            target = r.target
            text = None if target.dynamic or target.subs else reader.read(target.value)
            if target.subs:  # bash <(curl ...): the script is another command's output
                out.problem(f"{label} runs the output of another command ({target.value})", cmd)
            elif text is None and not target.dynamic and reader.exists(target.value) is False:
                out.commands.append(cmd)  # bash cannot open it, and runs nothing
                return
            elif text is None:
                out.problem(f"{label} runs {target.value}, which guardsh cannot read", cmd)
            else:
                inner_text(cmd, text, f"{label} < {target.value}", out, reader, depth)
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


def handle_script(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``./deploy.sh args``: a shell script's contents are classified too."""
    out.commands.append(cmd)
    path = cmd.words[0].value
    kind = reader.is_shell_script(path)
    if kind is None:
        exists = reader.exists(path)
        if exists is False:
            return  # bash will report "No such file"; nothing runs
        if reader.read_files or exists:
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
    inner_text(cmd, text, f"script {path}", out, reader, depth, params)


# Programs whose output is made to be eval'd and only sets environment variables (a shell's
# startup files run ``eval "$(dircolors -b)"`` and ``eval "$(SHELL=/bin/sh lesspipe)"``): eval of
# exactly their output runs no command.  The program itself is classified like any other.
ENV_GENERATORS = frozenset({"dircolors", "lesspipe", "lessfile", "lesspipe.sh"})


def _generated_env(word: Word) -> bool:
    """``"$(PROG ARGS)"`` where PROG (after VAR=value assignments) prints only variable settings."""
    if len(word.subs) != 1 or word.value.strip() not in (f"$({word.subs[0]})", f"`{word.subs[0]}`"):
        return False
    parts = word.subs[0].split()
    while parts and "=" in parts[0] and not parts[0].startswith("="):
        parts = parts[1:]
    return bool(parts) and parts[0].rsplit("/", 1)[-1] in ENV_GENERATORS and not any(
        ch in word.subs[0] for ch in ";&|<>$`(")


def handle_eval(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words[1:]
    if len(words) == 1 and words[0].dynamic and _generated_env(words[0]):
        out.commands.append(cmd)
        return
    if any(w.dynamic for w in words):
        out.problem("eval of a string built at run time: guardsh cannot tell what runs", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    inner_text(cmd, " ".join(w.value for w in words), "eval", out, reader, depth, scope="same")


def handle_source(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
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
    body = stdin_body(cmd, target.value)
    if body is None:
        path = find_script(target.value, reader, out, path_first=True)
        if path is None:
            return  # no such file: bash reports it, and nothing from it runs
        body = reader.read(path)
    if body is None:
        out.problem(f"{cmd.program} of {target.value}, which guardsh cannot read", cmd)
        out.worsen("opaque")
        return
    inner_text(cmd, body, f"source {target.value}", out, reader, depth, scope="same")


def handle_trap(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``trap TEXT SIGNALS``: TEXT runs when the shell gets a signal or exits; it is classified
    when that shell ends, with the state the shell ends in (``guardsh.engine.walk``)."""
    out.commands.append(cmd)
    words = cmd.words[1:]
    if words and words[0].value == "--":
        words = words[1:]
    if len(words) < 2 or words[0].value.startswith("-") and words[0].value != "-":
        return
    if words[0].dynamic:
        out.problem("trap runs a string built at run time", cmd)
        out.worsen("opaque")
        return
    state = out.state
    for sig in words[1:]:
        name = sig.value.upper().removeprefix("SIG") or "EXIT"
        if name == "0":
            name = "EXIT"
        if words[0].value == "-":
            state.traps.pop(name, None) if state is not None else None
        elif state is not None:
            state.traps[name] = words[0].value
        else:
            inner_text(cmd, words[0].value, "trap", out, reader, depth)


def handle_alias(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``alias NAME=VALUE`` runs nothing: VALUE is classified where the alias is used, when bash
    expands aliases there (``shopt -s expand_aliases``, interactive shells)."""
    out.commands.append(cmd)
