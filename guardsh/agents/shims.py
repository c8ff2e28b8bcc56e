"""Tool shims: the launcher started under a tool's name (``rm``, ``git``, ``kubectl`` ...).

A shim classifies ``TOOL ARGS`` like ``guardsh -c`` does (approval and audit included) and then
runs the real tool, found later on PATH, never a link to guardsh itself.  ``guardsh wrap`` puts
the links in a private directory first on PATH.

A shim started by a bash that guardsh itself exec'd (``guardsh -c 'cd x && rm -rf y'``) runs
the tool directly: that command line was already classified (and approved) as a whole.  Only
bash's own children (through bash subshells) qualify; a tool started by anything else (a Python
program, make, xargs) is classified again.  Known limit: a program that such a bash ran and that
then *execs* a tool in place (no fork) passes for bash's child.

A shim started by a real shell running ``-c TEXT`` (``/bin/sh -c`` from ``shell=True``) judges the
whole TEXT, as ``guardsh -c TEXT`` would (``allowed_by_parent_shell``).
"""
from __future__ import annotations

import os
import shlex
import sys

from guardsh.procs import NEST_VAR, start_time, stat_fields, trusted_hashes
from guardsh.shell.execute import ExecError, exec_program, is_guardsh, real_bash

# Links to the launcher under these names (made by `guardsh wrap`) classify `TOOL ARGS`, then run the real tool.
WRAP_SHIMS = ("rm", "git", "kubectl", "terraform", "aws", "gcloud", "az", "helm", "docker")
WRAP_DIR_VAR = "GUARDSH_WRAP_DIR"
EXIT_INTERNAL = 125
EXIT_NOT_FOUND = 127


def find_real_tool(name: str, env: dict[str, str] | os._Environ[str], self_paths: tuple[str, ...]) -> str | None:
    """The first ``name`` on PATH that is not guardsh (not a link to the launcher, not a launcher)."""
    skip = {os.path.abspath(p) for p in (env.get(WRAP_DIR_VAR, ""),) if p}
    for d in env.get("PATH", os.defpath).split(":"):
        d = d or "."
        if os.path.abspath(d) in skip:
            continue
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and not is_guardsh(candidate, self_paths):
            return candidate
    return None


def run_shim(argv0: str, args: list[str]) -> int:
    """Classify ``TOOL ARGS``; run the real tool if allowed (or approved), else refuse (126)."""
    from guardsh.engine.config import ConfigError, load_config

    name = os.path.basename(argv0)
    self_paths = (argv0, sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", ""))
    real = find_real_tool(name, os.environ, self_paths)
    if real is None:
        sys.stderr.write(f"guardsh: {name}: command not found (no real {name} on PATH after guardsh's shims)\n")
        return EXIT_NOT_FOUND
    try:
        bash_path = real_bash(load_config().bash, self_paths)
    except ConfigError:
        bash_path = None  # run_shell below refuses everything when the config is broken
    except ExecError as e:
        sys.stderr.write(f"guardsh: {e}; nothing was run\n")
        return EXIT_INTERNAL
    if bash_path and started_by_guarded_bash(bash_path):
        exec_program(real, [name] + args)
    if bash_path and allowed_by_parent_shell(name, args, bash_path):
        exec_program(real, [name] + args)
    # Classified and run exactly as `guardsh -c '/path/to/TOOL ARGS'` (approval and audit included):
    # the bash that runs it execs the tool in place.
    from guardsh.shell.main import run_shell

    text = shlex.join([real] + args)
    return run_shell("bash", ["-c", text])


SHELL_EXES = ("sh", "dash", "bash", "ash", "ksh", "mksh", "zsh")


def parent_shell_text(bash_path: str, pid: int | None = None) -> str | None:
    """The command text of the shell that started this tool, when it is a real shell run as
    ``SHELL [-OPTS] -c TEXT ...`` (``subprocess.run(cmd, shell=True)`` is ``/bin/sh -c cmd``).

    Read from /proc: the shell's executable must be a shell binary (not guardsh, not a script),
    and its command line is what it was started with (sh does not rewrite its argv)."""
    pid = os.getppid() if pid is None else pid
    try:
        exe = os.path.realpath(f"/proc/{pid}/exe")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return None
    if os.path.basename(exe) not in SHELL_EXES and exe != os.path.realpath(bash_path):
        return None
    words = [a.decode("utf-8", "surrogateescape") for a in argv[1:]]
    for k, w in enumerate(words):
        if w == "--" or not w.startswith(("-", "+")) or w.startswith("--"):
            return None  # a script or a long option before -c: not a -c shell we can read
        if w.startswith("-") and "c" in w[1:] and not any(ch in w[1:] for ch in "oO"):
            return words[k + 1] if k + 1 < len(words) else None
    return None


def process_started_at(pid: int) -> float | None:
    """The wall-clock time process ``pid`` started, to the clock tick (10 ms) the kernel records:
    its start on the boot-time clock, moved onto the wall clock by the two clocks' offset now
    (/proc/stat's btime is whole seconds: far too coarse to tell a file made just before)."""
    import time

    fields = stat_fields(pid)
    try:
        ticks = int(fields[19]) if fields else None
        if ticks is None:
            return None
        offset = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return offset + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def allowed_by_parent_shell(name: str, args: list[str], bash_path: str) -> bool:
    """A tool started by a plain ``sh -c TEXT`` (an agent's ``shell=True``, aider's /run) is judged
    with TEXT as a whole, as ``guardsh -c TEXT`` would judge it: ``touch t && rm t`` deletes what
    it made.  Only when the whole text is allowed, and the engine saw exactly this invocation
    (program and literal arguments) in it; otherwise the tool is classified on its own."""
    text = parent_shell_text(bash_path)
    if not text:
        return False
    from guardsh.audit import trail
    from guardsh.engine.classify import Classifier
    from guardsh.engine.config import ConfigError, load_config
    from guardsh.engine.context import Context
    from guardsh.engine.model import Decision
    from guardsh.engine.rules import RuleError, load_rules

    started = process_started_at(os.getppid())
    if started is None:
        return False
    try:
        config = load_config()
        rules = load_rules()
    except (ConfigError, RuleError):
        return False
    # the text is judged as it was when the shell started: what it created since is its own
    ctx = Context(os.getcwd(), config, stdin_is_tty=False)
    ctx.started_at = started
    verdict = Classifier(rules, config).classify(text, ctx)
    if verdict.decision != Decision.ALLOW:
        return False
    if not any(c.program == name and not any(w.dynamic for w in c.words)
               and [w.value for w in c.words[1:]] == args for c in verdict.commands):
        return False
    try:
        trail.record_invocation(text, verdict, "exec", config)
    except Exception as e:
        sys.stderr.write(f"guardsh: warning: {e}; the command runs but is missing from the audit trail\n")
    return True


def started_by_guarded_bash(bash_path: str) -> bool:
    """Is this process a child (through bash subshells only) of a bash that guardsh exec'd after
    classifying its whole command text?  The token must be genuine (see procs.trusted_hashes)."""
    token = os.environ.get(NEST_VAR, "")
    if not token or not trusted_hashes(os.environ):
        return False
    try:
        pid = int(token.split(":", 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # bash ran this tool as its last command, in place (exec keeps the pid)
    bash_real = os.path.realpath(bash_path)
    current = os.getppid()
    for _ in range(64):
        if current <= 1 or start_time(current) is None:
            return False
        try:
            exe = os.path.realpath(f"/proc/{current}/exe")
        except OSError:
            return False
        if exe != bash_real:
            return False  # something other than bash (python, make, xargs) started this tool
        if current == pid:
            return True
        fields = stat_fields(current)
        if not fields:
            return False
        current = int(fields[1])
    return False
