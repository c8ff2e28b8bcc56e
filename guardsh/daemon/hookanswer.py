"""The resident classifier's answer to ``guardsh hook AGENT``: the hook's own output when the
command is allowed at once, else a fallback (the client then runs the Python hook on the same
stdin, which decides, asks or denies as always).

Mirrors ``guardsh.agents.hooks.run_hook``/``decide`` for the allow path only: the input parsed by
the hook's own reader, not a shell tool (nothing to print), or an allowed command whose audit
record was written (with the client's pid and parent).
"""
from __future__ import annotations

import os

from guardsh import paths
from guardsh.agents import hooks
from guardsh.agents.hookspec import AGENTS
from guardsh.engine.config import ConfigError, load_config
from guardsh.engine.model import Decision
from guardsh.engine.undoplan import may_destroy

from guardsh.daemon.model import PRINT, Answer, Request, fallback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guardsh.daemon.answer import Classifier


def answer_hook(classifier: Classifier, req: Request, data: bytes) -> Answer:
    if len(req.args) != 2 or req.args[0] != "hook" or req.args[1] not in AGENTS:
        return fallback("not a plain hook command")
    agent = req.args[1]
    try:
        hook_req = hooks.parse_request(agent, hooks._parse(data))
    except hooks.Malformed:
        return fallback("malformed hook input")
    if hook_req is None:
        return Answer(PRINT, bash="")  # not a shell tool: the hook prints nothing
    if hook_req.cwd:
        try:
            os.chdir(hook_req.cwd)
        except OSError:
            pass
    try:
        config = load_config()
    except ConfigError:
        return fallback("config")
    from guardsh.engine.classify import Classifier as Engine
    from guardsh.engine.context import Context

    ctx = Context(hook_req.cwd or os.getcwd(), config, stdin_is_tty=False)
    verdict = Engine(classifier.rules(), config).classify(hook_req.command, ctx)
    if verdict.decision != Decision.ALLOW:
        return fallback("not allowed at once")
    snapshot = None
    if config.undo.get("enabled", True) and may_destroy(verdict):  # issue 14: saved first, quietly
        if paths.SYSTEM is not None:
            return fallback("undo: the Python path saves it as the user")
        from guardsh.undo.guard import protect

        protection = protect(verdict, config, hook_req.cwd or os.getcwd())
        if protection.verdict.decision != Decision.ALLOW:
            return fallback("undo")
        verdict, snapshot = protection.verdict, protection.snapshot
    try:
        if paths.SYSTEM is not None:  # separate-user mode: the daemon's own trail
            config.audit_log = paths.daemon_audit_log(req.uid)
        hooks.record(hook_req, verdict, "exec", config, pid=req.pid, ppid=req.ppid, snapshot=snapshot, uid=req.uid)
    except Exception:
        return fallback("audit")
    out = hooks.render(agent, hooks.Answer("allow"))
    if out is None:
        text = ""
    elif isinstance(out, str):
        text = hooks._CONSTANT_ANSWERS[out] + "\n"
    else:
        import json

        text = json.dumps(out, ensure_ascii=False) + "\n"
    return Answer(PRINT, bash=text)
