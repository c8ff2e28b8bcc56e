"""guardsh as the agent's shell: take bash's argv, classify what it will run, exec or refuse."""
from __future__ import annotations

import os
import sys

from guardsh.audit import trail
from guardsh.engine.config import Config, ConfigError, load_config
from guardsh.engine.invocation import parse_shell_argv
from guardsh.engine.model import Decision, Risk
from guardsh.engine.undoplan import may_destroy
from guardsh.procs import text_hash, trusted_hashes
from guardsh.shell.execute import ExecError, exec_bash, real_bash

EXIT_REFUSED = 126
EXIT_INTERNAL = 125


def exec_name(argv0: str) -> str:
    """The argv[0] bash gets, so that ``$0`` and login/sh dispatch are what the caller asked for."""
    return "guardsh" if argv0.endswith("__main__.py") else argv0


def run_shell(argv0: str, args: list[str]) -> int:
    """Classify and exec; returns only when the command is refused or guardsh fails."""
    inv = parse_shell_argv(args, os.path.basename(argv0))
    name = exec_name(argv0)
    try:
        config = load_config()
        config_error = None
    except ConfigError as e:
        config, config_error = Config(), str(e)
    try:
        bash = real_bash(config.bash, (sys.argv[0], argv0 if "/" in argv0 else "", os.environ.get("GUARDSH_LAUNCHER", "")))
    except ExecError as e:
        sys.stderr.write(f"guardsh: {e}; nothing was run\n")
        return EXIT_INTERNAL
    if inv.info or inv.noexec or inv.error:
        exec_bash(bash, name, args, [])  # bash prints its version, checks syntax or reports the error
    stdin_data: bytes | None = None
    params = None
    if inv.command is not None:
        text = inv.command
        params = inv.params(name)
    elif inv.script is not None:
        path = find_script(inv.script)
        if path is None:
            exec_bash(bash, name, args, [])  # no such file anywhere: bash reports it; nothing runs
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            # a directory, or no permission: bash, as the same user, fails the same way and runs nothing
            exec_bash(bash, name, args, [])
        params = inv.params(name)
    else:
        if _isatty(0):
            import gc

            gc.enable()  # a long-lived session (guardsh.cli turned collection off for the -c path)
            from guardsh.shell.session import run_session  # the guarded interactive session
            from guardsh.shell.startup import startup_files

            return run_session(bash, startup_files(bash, args, inv.login, inv.rcfile, argv0))
        stdin_data = _read_all(0)
        text = stdin_data.decode("utf-8", errors="replace")
    if text_hash(text) in trusted_hashes(os.environ):
        exec_bash(bash, name, args, [text], stdin_data)
    if config_error:
        sys.stderr.write(f"guardsh: the config failed to load, so every command is refused:\n{config_error}\n")
        _audit_refusal(text, None, config, "the config failed to load")
        return EXIT_REFUSED
    startup = _startup_file(inv, args)
    verdict = classify_for_shell(text, config, params, stdin_is_tty=_isatty(0) if stdin_data is None else True,
                                 startup=startup, exact_env=not inv.login and not inv.interactive)
    if verdict is None:
        _audit_refusal(text, None, config, "the rules failed to load")
        return EXIT_REFUSED
    protection = None  # issue 14: what it destroys is saved first (and, saved, a local destruction may run)
    if verdict.decision != Decision.DENY and config.undo.get("enabled", True) and may_destroy(verdict):
        from guardsh.undo.guard import protect

        protection = protect(verdict, config)
        verdict = protection.verdict
    if verdict.decision == Decision.ALLOW:
        try:
            trail.record_invocation(text, verdict, "exec", config,
                                    snapshot=protection.snapshot if protection else None)
        except Exception as e:  # an audit failure must never crash the shell: decide below
            if verdict.risk >= Risk.DESTRUCTIVE:
                sys.stderr.write(
                    f"guardsh: refused: {e}.\n"
                    f"guardsh: this command is {verdict.risk.label}, and guardsh does not run destructive commands "
                    "while the audit trail cannot be written. Nothing was run. Ask the user to fix the audit log "
                    "(free disk space, permissions, or 'audit_log:' in ~/.config/guardsh/config.yaml).\n"
                )
                return EXIT_REFUSED
            sys.stderr.write(f"guardsh: warning: {e}; the command runs but is missing from the audit trail\n")
        exec_bash(bash, name, args, list(verdict.texts), stdin_data)
    if verdict.decision == Decision.ASK or (verdict.risk == Risk.CATASTROPHIC and config.catastrophic_two_approvers):
        from guardsh.approval.request import request_approval  # a human decides (two people for catastrophic)

        def before_run(approver: str, preview: list[str] | None = None) -> str | None:  # saved and recorded first
            from guardsh.undo.guard import after_approval

            sid = after_approval(protection, config) if protection is not None else None
            trail.record_invocation(text, verdict, "exec", config, approval="approved", approver=approver,
                                    snapshot=sid, preview=preview)
            return sid  # the console shows it

        approval = request_approval(verdict, config, before_run)
        if approval.approved:
            exec_bash(bash, name, args, list(verdict.texts), stdin_data)  # exactly the approved text
        try:  # the refusal, with the human's reason, is already on stderr
            trail.record_invocation(text, verdict, "refused", config, exit_status=EXIT_REFUSED,
                                    approval=approval.state, approver=approval.by or None, preview=approval.preview)
        except Exception as e:
            sys.stderr.write(f"guardsh: warning: {e}; this refusal is missing from the audit trail\n")
        return EXIT_REFUSED
    from guardsh.engine.report import refusal

    _audit_refusal(text, verdict, config, None)
    sys.stderr.write(refusal(verdict))
    return EXIT_REFUSED


def _audit_refusal(text: str, verdict, config: Config, error: str | None) -> None:  # type: ignore[no-untyped-def]
    """Record a refusal; a failure to record it only warns (nothing runs either way)."""
    try:
        trail.record_invocation(text, verdict, "refused", config, exit_status=EXIT_REFUSED, error=error,
                                decision=None if verdict is not None else Decision.ASK.label,
                                approval="unavailable" if verdict is None or verdict.decision == Decision.ASK else None)
    except Exception as e:
        sys.stderr.write(f"guardsh: warning: {e}; this refusal is missing from the audit trail\n")


def classify_for_shell(text: str, config: Config, params: dict[str, str] | None, stdin_is_tty: bool,  # type: ignore[no-untyped-def]
                       startup: str | None = None, exact_env: bool = False, rules=None):
    """The verdict on what this shell will run.  ``exact_env``: bash gets exactly this process's
    environment (no login profile or rc file in between), so a variable it lacks is unset.
    ``rules``: already loaded (the resident classifier holds them), else loaded here."""
    from guardsh.engine.classify import Classifier
    from guardsh.engine.context import Context
    from guardsh.engine.rules import RuleError, load_rules

    try:
        rules = load_rules() if rules is None else rules
    except RuleError as e:
        sys.stderr.write(
            "guardsh: the rules failed to load, so every command is refused until they are fixed\n"
            "guardsh: (check them with: guardsh rules test)\n" + "\n".join(e.problems[:20]) + "\n"
        )
        return None
    classified = text
    bash_env = os.environ.get("BASH_ENV")
    if bash_env:
        # bash sources $BASH_ENV before a non-interactive command: it runs too.
        classified = f"source {_quote(bash_env)}\n{classified}"
    if startup:
        # an interactive shell sources its rc file (--rcfile FILE, else ~/.bashrc) first
        classified = f"source {_quote(startup)}\n{classified}"
    ctx = Context(os.getcwd(), config, stdin_is_tty=stdin_is_tty)
    ctx.env_complete = exact_env
    verdict = Classifier(rules, config).classify(classified, ctx, params)
    return verdict


def find_script(name: str) -> str | None:
    """The file bash will run for ``bash NAME``: NAME itself, else (no slash) a file on PATH."""
    if os.path.exists(name):
        return name
    if "/" in name:
        return None
    for d in os.environ.get("PATH", "").split(":"):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _startup_file(inv: object, args: list[str]) -> str | None:
    """The rc file an interactive bash sources before the command (None when not interactive)."""
    if not getattr(inv, "interactive", False):
        return None
    rcfile = getattr(inv, "rcfile", None)
    if rcfile:
        return str(rcfile)
    if any(a in ("--norc", "-norc") for a in args):
        return None
    home = os.environ.get("HOME")
    rc = os.path.join(home, ".bashrc") if home else None
    return rc if rc and os.path.exists(rc) else None


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # stdin closed (<&-): bash reads nothing either
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
