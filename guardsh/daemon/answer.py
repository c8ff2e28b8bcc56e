"""One answer of the resident classifier: would ``guardsh`` run this argv at once?

The daemon answers exactly the case ``guardsh -c`` allows without a human: a ``-c`` command
(any bash options around it) that the rules allow, whose audit record the daemon has written.
Everything else — ask, deny, a script file or stdin, ``--version``, a subcommand, a tool shim,
rules or config that fail to load, an audit write that fails, any error — is ``FALLBACK``: the
client then execs the Python guardsh with the same argv, which decides as it always does.  So
the daemon can only ever say "allow" where ``guardsh.shell.main.run_shell`` would exec bash
with no question asked; it never refuses anything itself.

The request is classified in the client's world: its cwd (the worker changes into it), its
whole environment (``os.environ`` is swapped for the request), its stdin-is-a-terminal bit,
and its pid and parent pid (the recursion guard's token and the audit record name the client,
which is the process that will exec bash).
"""
from __future__ import annotations

import os

from guardsh import paths
from guardsh.audit import trail
from guardsh.engine.config import ConfigError, load_config
from guardsh.engine.invocation import parse_shell_argv
from guardsh.engine.model import Decision, Risk
from guardsh.engine.undoplan import may_destroy
from guardsh.procs import nest_token, text_hash, trusted_hashes
from guardsh.shell.execute import ExecError, real_bash
from guardsh.shell.main import _startup_file, classify_for_shell, exec_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from guardsh.daemon.model import ALLOW, FALLBACK, Answer, Request, fallback  # noqa: F401 (re-exported)

SHELL_NAMES = ("bash", "sh")


class Classifier:
    """Holds the compiled rules between requests; they are reloaded when a rule file (or the
    set of rule files) changed on disk, checked by stat before every answer."""

    def __init__(self, self_paths: tuple[str, ...] = ()) -> None:
        self.self_paths = self_paths
        self._sig: Any = None
        self._rules: Any = None

    def rules(self) -> Any:
        from guardsh.engine.rules import load_rules, rule_dirs, rule_files, signature

        sig = signature(rule_files(rule_dirs()))
        if self._rules is None or sig != self._sig:
            self._rules = None
            self._rules = load_rules()  # RuleError: the caller falls back (Python reports it)
            self._sig = sig
        return self._rules

    def warm(self) -> None:
        """Load the rules and classify once, so that the first client does not pay for imports
        (done before the workers fork: they share what it loaded)."""
        try:
            config = load_config()
            classify_for_shell("true", config, None, stdin_is_tty=False, rules=self.rules())
        except Exception:  # the first real request reports nothing either: it falls back
            pass

    def answer(self, req: Request) -> Answer:
        """Decide ``req`` (a shell argv) in the client's cwd and environment (restored afterwards)."""
        return self._in_client_world(req, lambda: self._answer(req))

    def answer_hook(self, req: Request, data: bytes) -> Answer:
        """Answer ``guardsh hook AGENT`` with ``data`` on its stdin."""
        from guardsh.daemon.hookanswer import answer_hook

        return self._in_client_world(req, lambda: answer_hook(self, req, data))

    def _in_client_world(self, req: Request, decide: Any) -> Answer:
        saved_env = dict(os.environ)
        try:
            saved_cwd = os.getcwd()
        except OSError:
            saved_cwd = "/"
        try:
            os.chdir(req.cwd)
            if os.getcwd() != req.cwd and os.path.realpath(req.cwd) != os.getcwd():
                return fallback("cwd")
            os.environ.clear()
            os.environ.update(req.env)
            if paths.SYSTEM is None:
                answer: Answer = decide()
                return answer
            from guardsh.daemon import system  # separate-user mode: what the kernel refused us

            system.reset()
            answer = decide()
            if system.denied():
                return fallback(f"as the daemon's user, denied {system.denied()[0]}")
            return answer
        except Exception as e:  # fail closed: the Python path decides (and reports)
            return fallback(f"{type(e).__name__}: {e}")
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            try:
                os.chdir(saved_cwd)
            except OSError:
                os.chdir("/")

    def _answer(self, req: Request) -> Answer:
        base = os.path.basename(req.name)
        own = base.lstrip("-").startswith("guardsh")
        if not own and base.lstrip("-") not in SHELL_NAMES:
            return fallback("not a shell name (a tool shim)")
        if not req.args or not req.args[0].startswith("-") or (own and req.args in (["--help"], ["-h"])):
            return fallback("not a -c command")
        inv = parse_shell_argv(list(req.args), base)
        if inv.info or inv.noexec or inv.error or inv.command is None:
            return fallback("not a -c command")
        name = exec_name(req.name)
        try:
            config = load_config()
        except ConfigError:
            return fallback("config")
        try:
            bash = real_bash(config.bash, self.self_paths + (req.name, req.env.get("GUARDSH_LAUNCHER", "")))
        except ExecError:
            return fallback("no bash")
        text = inv.command
        if text_hash(text) in trusted_hashes(os.environ, ppid=req.ppid):
            return self._allow(bash, name, [text], req)
        startup = _startup_file(inv, req.args)
        verdict = classify_for_shell(text, config, inv.params(name), stdin_is_tty=req.stdin_tty, startup=startup,
                                     exact_env=not inv.login and not inv.interactive, rules=self.rules())
        if verdict is None:
            return fallback("the rules failed to load")
        if verdict.decision != Decision.ALLOW:
            return fallback("not allowed at once")  # an ask the undo snapshot could lower: Python does it, and says so
        if verdict.risk == Risk.CATASTROPHIC and config.catastrophic_two_approvers:
            return fallback("two approvers")
        snapshot = None
        if config.undo.get("enabled", True) and may_destroy(verdict):  # issue 14: saved first, quietly
            if paths.SYSTEM is not None:
                return fallback("undo: the Python path saves it as the user")
            from guardsh.undo.guard import protect

            protection = protect(verdict, config, req.cwd)
            if protection.verdict.decision != Decision.ALLOW:
                return fallback("undo")
            verdict, snapshot = protection.verdict, protection.snapshot
        if paths.SYSTEM is not None:  # the daemon's own trail, which the client's user cannot alter
            config.audit_log = paths.daemon_audit_log(req.uid)
        try:  # written before the answer, as guardsh writes it before the exec
            trail.record_invocation(text, verdict, "exec", config, cwd=req.cwd, pid=req.pid, ppid=req.ppid,
                                    snapshot=snapshot, uid=req.uid)
        except Exception:
            return fallback("audit")  # the Python path decides whether it still runs, and says so
        return self._allow(bash, name, list(verdict.texts), req)

    @staticmethod
    def _allow(bash: str, name: str, texts: list[str], req: Request) -> Answer:
        token = nest_token(texts, pid=req.pid) or ""
        return Answer(ALLOW, bash=bash, argv0=name, token=token)
