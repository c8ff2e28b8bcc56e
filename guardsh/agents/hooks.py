"""``guardsh hook AGENT``: the same classifier for agents that run /bin/bash themselves.

Claude Code, Codex, Gemini CLI and Cursor each call a pre-execution hook with a JSON object on
stdin before they run a shell command.  This module reads it, classifies the command exactly as
``guardsh -c`` would (same rules, same config, the cwd the agent gives), records the decision in
the audit trail under the agent's own session id, and answers in that agent's protocol:

============  ==========================  ===========================  ==========================
agent         allow                       deny                         ask (no approver console)
============  ==========================  ===========================  ==========================
claude-code   no output (its own          ``hookSpecificOutput.``      ``permissionDecision:
              permission rules apply)     ``permissionDecision: deny`` "ask"``: its prompt decides
codex         no output                   ``permissionDecision: deny`` deny, with instructions
gemini        ``{"decision": "allow"}``   ``{"decision": "deny"}``     deny, with instructions
cursor        ``{"permission": "allow"}`` ``{"permission": "deny"}``   ``{"permission": "ask"}``
============  ==========================  ===========================  ==========================

``ask`` goes to the approver console (``guardsh approver``) when one is running, and the human's
decision is the answer (an approval is ``allow``; Codex and Gemini get no output / ``allow``).
``--ask MODE`` (or ``GUARDSH_HOOK_ASK``) changes that: ``auto`` (the default above), ``approver``
(the console only: no console is a denial), ``agent`` (always the agent's own prompt, where the
protocol has one; deny otherwise), ``deny``.

Input that is not what the protocol documents (not JSON, not an object, no command for a shell
tool) is never allowed: it is denied with a reason saying so, and recorded.  Tools that are not
shell tools (Read, Edit, apply_patch...) get no answer: they are not guardsh's to judge.  Any
internal error also answers deny; an agent treats a crashed hook (exit 1) as "no objection".

The allow path imports nothing more than ``guardsh -c`` does: the input is decoded with the C
scanner behind ``json`` (``_json``), without the ``json`` package and the modules it pulls in;
answers other than allow are written with ``json``.
"""
from __future__ import annotations

import os
import sys

from guardsh.agents.hookspec import AGENTS, ASK_MODES, AUDIT_AGENT, EVENTS, HAS_PROMPT, SHELL_TOOLS
from guardsh.engine.model import Decision, Risk

MAX_INPUT = 4 << 20
# ``guardsh hook install`` gives the hook 600 s; an agent that kills a slow hook may treat that as
# "no objection", so the wait for a human always ends (in a denial) well before.
MAX_APPROVAL_WAIT = 540.0

USAGE = """\
usage: guardsh hook AGENT [--ask auto|approver|agent|deny]   answer AGENT's pre-execution hook
       guardsh hook install AGENT [--project|--user] [--dry-run]
       guardsh hook uninstall AGENT [--project|--user] [--dry-run]
AGENT is one of: claude-code, codex, gemini, cursor.  The hook reads the agent's JSON on stdin.
--ask: what a command that needs approval becomes (also GUARDSH_HOOK_ASK):
  auto      the approver console if one is running, else the agent's own prompt (claude-code,
            cursor) or a denial that says how to get approval (codex, gemini)   [default]
  approver  the approver console only (none running: denied)
  agent     the agent's own prompt (claude-code, cursor; denied for codex, gemini)
  deny      denied
"""


class Malformed(Exception):
    """The hook input is not what the agent's protocol documents."""


class Request:
    """What the agent asked: the command, where, and which session."""

    __slots__ = ("agent", "command", "cwd", "session", "tool")

    def __init__(self, agent: str, command: str, cwd: str | None, session: str | None, tool: str) -> None:
        self.agent, self.command, self.cwd, self.session, self.tool = agent, command, cwd, session, tool


class Answer:
    """guardsh's decision for the agent: allow, deny or ask (the agent's own prompt decides)."""

    __slots__ = ("decision", "reason", "short")

    def __init__(self, decision: str, reason: str = "", short: str = "") -> None:
        self.decision, self.reason, self.short = decision, reason, short or reason


# --- entry point ----------------------------------------------------------------------------

def main(args: list[str]) -> int:
    if args and args[0] in ("install", "uninstall"):
        from guardsh.agents.hookinstall import main as install_main

        return install_main(args)
    if not args or args[0] in ("-h", "--help", "help"):
        (sys.stdout if args else sys.stderr).write(USAGE)
        return 0 if args else 2  # exit 2: an agent that runs a bare "guardsh hook" blocks
    agent = args[0]
    if agent not in AGENTS:
        sys.stderr.write(f"guardsh hook: unknown agent {agent!r}\n" + USAGE)
        return 2
    ask_mode = os.environ.get("GUARDSH_HOOK_ASK") or "auto"
    rest = args[1:]
    while rest:
        opt = rest.pop(0)
        if opt == "--ask" and rest:
            ask_mode = rest.pop(0)
        elif opt.startswith("--ask="):
            ask_mode = opt[len("--ask="):]
        else:
            return _fail_closed(agent, f"unknown option {opt!r} in the hook command (see: guardsh hook --help)")
    if ask_mode not in ASK_MODES:
        return _fail_closed(agent, f"--ask {ask_mode!r} is not one of {', '.join(ASK_MODES)}")
    try:
        return run_hook(agent, ask_mode, _read_stdin())
    except BaseException as e:  # fail closed: a crashed hook is "no objection" to every agent
        if isinstance(e, SystemExit) and e.code == 0:
            raise
        return _fail_closed(agent, f"internal error ({type(e).__name__}: {e})")


def run_hook(agent: str, ask_mode: str, data: bytes) -> int:
    payload = None
    try:
        payload = _parse(data)
        req = parse_request(agent, payload)
    except Malformed as e:
        reason = (f"guardsh could not read this {agent} hook input ({e}), so the command was not allowed. "
                  f"Check that the hook was installed for the right agent: guardsh hook install {agent}")
        _record_quietly(agent, _session_of(agent, payload), None, None,
                        "refused", _config_or_none(), decision=Decision.DENY.label, error=str(e))
        return respond(agent, Answer("deny", reason, "guardsh could not read the hook input"))
    if req is None:  # not a shell tool: not guardsh's to judge
        return 0
    if req.cwd:
        try:
            os.chdir(req.cwd)
        except OSError:
            pass
    return respond(agent, decide(req, ask_mode))


# --- reading the agents' input ------------------------------------------------------------

def _read_stdin() -> bytes:
    chunks = []
    size = 0
    while True:
        try:
            chunk = os.read(0, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_INPUT:
            break
    return b"".join(chunks)


def _parse(data: bytes) -> dict:  # type: ignore[type-arg]
    if len(data) > MAX_INPUT:
        raise Malformed(f"more than {MAX_INPUT >> 20} MB of input")
    if not data.strip():
        raise Malformed("no input on stdin")
    try:
        payload = loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise Malformed("the input is not UTF-8") from None
    except (ValueError, StopIteration, RecursionError) as e:
        raise Malformed(f"the input is not JSON: {e if isinstance(e, ValueError) else 'no JSON value'}") from None
    if not isinstance(payload, dict):
        raise Malformed(f"the input is a JSON {type(payload).__name__}, not an object")
    return payload


class _Strict:
    """The settings ``json.JSONDecoder`` gives its scanner: strict strings, plain dicts, no NaN."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int

    @staticmethod
    def parse_constant(name: str) -> float:
        raise ValueError(f"{name} is not JSON")


_scan = None


def loads(text: str) -> object:
    """``json.loads`` for one JSON document, without importing the json package (~2 ms)."""
    global _scan
    if _scan is None:
        try:
            from _json import make_scanner

            _scan = make_scanner(_Strict())
        except ImportError:  # no C accelerator: the json package
            import json

            return json.loads(text)
    ws = " \t\n\r"
    start = len(text) - len(text.lstrip(ws))
    try:
        value, end = _scan(text, start)
    except (ValueError, StopIteration, SystemError):
        # not JSON: the json package says why (the bare scanner cannot build its error
        # before json.decoder is imported, and reports SystemError instead)
        import json

        return json.loads(text, parse_constant=_Strict.parse_constant)
    if text[end:].strip(ws):
        raise ValueError(f"extra data after the JSON value at character {end}")
    return value


def parse_request(agent: str, p: dict) -> Request | None:  # type: ignore[type-arg]
    """The command to judge, or None for a tool that does not run shell commands."""
    event = p.get("hook_event_name")
    if event is not None and event != EVENTS[agent]:
        raise Malformed(f"hook_event_name is {event!r}; guardsh hook {agent} answers {EVENTS[agent]} only")
    session = _session_of(agent, p)
    cwd = p.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise Malformed("cwd is not a string")
    if agent == "cursor":
        command = p.get("command")
        if not isinstance(command, str):
            raise Malformed("command is missing or not a string")
        if not cwd:
            roots = p.get("workspace_roots")
            cwd = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else None
        return Request(agent, command, _abs(cwd), session, "shell")
    tool = p.get("tool_name")
    if not isinstance(tool, str) or not tool:
        raise Malformed("tool_name is missing or not a string")
    if tool not in SHELL_TOOLS[agent]:
        return None
    tool_input = p.get("tool_input")
    if not isinstance(tool_input, dict):
        raise Malformed(f"tool_input of {tool} is missing or not an object")
    command = tool_input.get("command")
    if isinstance(command, list) and command and all(isinstance(w, str) for w in command):
        command = _argv_text(command)  # Codex's shell tool passes an argv
    if not isinstance(command, str):
        raise Malformed(f"tool_input.command of {tool} is missing or not a string")
    if agent == "gemini":
        where = tool_input.get("dir_path") or tool_input.get("directory")
        if isinstance(where, str) and where:
            cwd = where if where.startswith("/") else os.path.join(cwd or os.getcwd(), where)
    elif isinstance(tool_input.get("workdir"), str) and tool_input["workdir"]:
        where = tool_input["workdir"]
        cwd = where if where.startswith("/") else os.path.join(cwd or os.getcwd(), where)
    return Request(agent, command, _abs(cwd), session, tool)


def _session_of(agent: str, p: object) -> str | None:
    if not isinstance(p, dict):
        return None
    value = p.get("conversation_id") if agent == "cursor" else p.get("session_id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def _abs(path: str | None) -> str | None:
    return os.path.normpath(path) if path and path.startswith("/") else None


def _argv_text(argv: list[str]) -> str:
    """``["bash", "-lc", "ls"]`` as the shell text that runs it."""
    out = []
    for w in argv:
        if w and all(c.isalnum() or c in "@%+=:,./-_" for c in w):
            out.append(w)
        else:
            out.append("'" + w.replace("'", "'\\''") + "'")
    return " ".join(out)


# --- deciding -------------------------------------------------------------------------------

def decide(req: Request, ask_mode: str) -> Answer:
    from guardsh.engine.config import Config, ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as e:
        _record_quietly(req.agent, req.session, req.command, None, "refused", Config(),
                        decision=Decision.DENY.label, error="the config failed to load")
        return Answer("deny", f"guardsh: the config failed to load, so every command is refused:\n{e}",
                      "guardsh: the config failed to load")
    verdict = classify(req, config)
    if verdict is None:
        _record_quietly(req.agent, req.session, req.command, None, "refused", config,
                        decision=Decision.DENY.label, error="the rules failed to load")
        return Answer("deny", "guardsh: the rules failed to load, so every command is refused until they are "
                              "fixed (check them with: guardsh rules test)", "guardsh: the rules failed to load")
    snapshot = None  # issue 14: what it destroys is saved before the agent runs it
    if verdict.decision != Decision.DENY and config.undo.get("enabled", True):
        from guardsh.engine.undoplan import may_destroy

        if may_destroy(verdict):
            from guardsh.undo.guard import protect

            protection = protect(verdict, config, req.cwd or os.getcwd())
            verdict, snapshot = protection.verdict, protection.snapshot
    if verdict.decision == Decision.ALLOW:
        try:
            record(req, verdict, "exec", config, snapshot=snapshot)
        except Exception as e:  # as guardsh -c: destructive commands need the audit trail
            if verdict.risk >= Risk.DESTRUCTIVE:
                return Answer("deny", f"guardsh: refused: {e}. This command is {verdict.risk.label}, and guardsh "
                                      "does not allow destructive commands while the audit trail cannot be written. "
                                      "Ask the user to fix the audit log.", f"guardsh: the audit log failed: {e}")
            sys.stderr.write(f"guardsh: warning: {e}; the command is missing from the audit trail\n")
        return Answer("allow")
    if verdict.decision == Decision.ASK or (verdict.risk == Risk.CATASTROPHIC and config.catastrophic_two_approvers):
        return ask(req, verdict, config, ask_mode)
    from guardsh.engine.report import refusal

    _record_quietly(req.agent, req.session, req.command, verdict, "refused", config)
    return Answer("deny", refusal(verdict).rstrip("\n"), summary(verdict))


def classify(req: Request, config):  # type: ignore[no-untyped-def]
    from guardsh.engine.classify import Classifier
    from guardsh.engine.context import Context
    from guardsh.engine.rules import RuleError, load_rules

    try:
        rules = load_rules()
    except RuleError as e:
        sys.stderr.write("guardsh: the rules failed to load:\n" + "\n".join(e.problems[:20]) + "\n")
        return None
    cwd = req.cwd or os.getcwd()
    ctx = Context(cwd, config, stdin_is_tty=False)
    return Classifier(rules, config).classify(req.command, ctx)


def ask(req: Request, verdict, config, mode: str) -> Answer:  # type: ignore[no-untyped-def]
    """The human decides: on the approver console, else (per mode) the agent's own prompt."""
    from guardsh.engine.report import refusal

    prompt_ok = req.agent in HAS_PROMPT and verdict.decision == Decision.ASK  # never for a catastrophic one
    if mode == "agent" and prompt_ok:
        return delegate(req, verdict, config)
    if mode in ("deny", "agent"):
        why = ("The hook is set to deny commands that need approval (--ask deny)." if mode == "deny" else
               f"{req.agent} has no prompt of its own that a hook can hand this to (--ask agent), so it is denied.")
        _record_quietly(req.agent, req.session, req.command, verdict, "refused", config, approval="unavailable")
        return Answer("deny", refusal(verdict, why).rstrip("\n"), summary(verdict))
    import io

    from guardsh.approval.request import request_approval

    def before_run(approver: str, preview: list[str] | None = None) -> None:  # recorded before the agent may run it
        record(req, verdict, "exec", config, approval="approved", approver=approver, preview=preview)

    if float(config.approval_timeout) > MAX_APPROVAL_WAIT:
        config.approval_timeout = MAX_APPROVAL_WAIT
    captured = io.StringIO()
    saved, sys.stderr = sys.stderr, captured  # the waiter's messages become the reason
    try:
        approval = request_approval(verdict, config, before_run)
    finally:
        sys.stderr = saved
    if approval.approved:
        return Answer("allow", f"guardsh: approved by {approval.by or 'the approver'} on the approver console"
                               f" (request {approval.request})")
    if approval.state == "unavailable" and mode == "auto" and prompt_ok:
        return delegate(req, verdict, config)
    _record_quietly(req.agent, req.session, req.command, verdict, "refused", config,
                    approval=approval.state, approver=approval.by or None, preview=getattr(approval, "preview", None))
    text = captured.getvalue().strip() or refusal(verdict).rstrip("\n")
    return Answer("deny", text, summary(verdict))


def delegate(req: Request, verdict, config) -> Answer:  # type: ignore[no-untyped-def]
    """No console: the agent's own permission prompt decides (Claude Code, Cursor)."""
    _record_quietly(req.agent, req.session, req.command, verdict, "agent-ask", config, approval="agent prompt")
    return Answer("ask", prompt_text(verdict), summary(verdict))


def summary(verdict) -> str:  # type: ignore[no-untyped-def]
    strict = [m for m in verdict.matches if m.risk == verdict.risk] or list(verdict.matches)
    if not strict:
        return f"guardsh: {verdict.risk.label} ({verdict.decision.label})"
    m = strict[0]
    return f"guardsh: {verdict.risk.label}: {m.reason} (rule {m.rule})"


def prompt_text(verdict) -> str:  # type: ignore[no-untyped-def]
    """What the human sees in the agent's own prompt: why guardsh wants a human to decide."""
    lines = [f"guardsh: {verdict.risk.label} command, needs your approval (no approver console is running)."]
    shown = [m for m in verdict.matches if m.risk >= Risk.DESTRUCTIVE] or list(verdict.matches[:3])
    for m in shown[:4]:
        lines.append(f"- {m.rule}: {m.reason}")
        if m.suggest:
            lines.append(f"  safer: {m.suggest}")
    if not shown:
        lines.append(f"- {'; '.join(verdict.notes[:2]) or 'guardsh could not analyse this command'}")
    lines.append(APPROVAL_HINT)
    return "\n".join(lines)


# where the agent cannot ask (claude -p answers the prompt with a refusal), the model reads this
APPROVAL_HINT = ("To have it approved, start the approver console in a terminal of your own "
                 "(guardsh approver) and run the command again; or run it yourself.")


# --- the audit trail -----------------------------------------------------------------------

def record(req: Request, verdict, outcome: str, config, **details: object) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return _append(req.agent, req.session, req.command, verdict, outcome, config, details)


def _record_quietly(agent: str, session: str | None, command: str | None, verdict, outcome: str,  # type: ignore[no-untyped-def]
                    config, **details: object) -> None:
    try:
        _append(agent, session, command, verdict, outcome, config, details)
    except Exception as e:  # a refusal is a refusal either way
        sys.stderr.write(f"guardsh: warning: {e}; this hook decision is missing from the audit trail\n")


def _append(agent: str, session: str | None, command: str | None, verdict, outcome: str, config,  # type: ignore[no-untyped-def]
            details: dict[str, object]) -> tuple[int, str]:
    from guardsh.audit import trail

    fields = trail.invocation_fields(command, verdict, outcome, **details)  # type: ignore[arg-type]
    named = {"agent": AUDIT_AGENT[agent]}
    if session:
        named["session"] = session
    fields = [(k, named.get(k, v)) for k, v in fields]
    fields.append(("hook", agent))
    return trail.append(trail.log_path(config), fields)


# --- answering ------------------------------------------------------------------------------

def respond(agent: str, answer: Answer) -> int:
    """Write the agent's protocol answer on stdout; the exit status is 0 (the JSON decides)."""
    out = render(agent, answer)
    if out is not None:
        if isinstance(out, str):
            text = _CONSTANT_ANSWERS[out]  # the allow path needs no json module
        else:
            import json

            text = json.dumps(out, ensure_ascii=False)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    return 0


_CONSTANT_ANSWERS = {"gemini-allow": '{"decision": "allow"}', "cursor-allow": '{"permission": "allow"}'}


def render(agent: str, answer: Answer) -> dict | str | None:  # type: ignore[type-arg]
    """The answer object (None: print nothing; a key of _CONSTANT_ANSWERS: that text)."""
    d = answer.decision
    if agent in ("claude-code", "codex"):
        if d == "allow" and (agent == "codex" or not answer.reason):
            return None  # no objection: the agent's own permission rules apply
        if d == "ask" and agent == "codex":  # not reached: Codex has no prompt a hook can ask for
            d = "deny"
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": d,
                                       "permissionDecisionReason": answer.reason}}
    if agent == "gemini":
        if d == "allow":
            return {"decision": "allow", "reason": answer.reason} if answer.reason else "gemini-allow"
        return {"decision": "deny", "reason": answer.reason}
    # cursor
    if d == "allow":
        return "cursor-allow"
    return {"permission": d, "user_message": answer.short, "agent_message": answer.reason}


def _config_or_none():  # type: ignore[no-untyped-def]
    """The config, for where the audit log is; None (the default log) if it does not load."""
    try:
        from guardsh.engine.config import load_config

        return load_config()
    except Exception:
        return None


def _fail_closed(agent: str, why: str) -> int:
    """Answer deny whatever happened; exit 2 with the reason on stderr if even that fails."""
    reason = f"guardsh: {why}; the command was not allowed."
    try:
        _record_quietly(agent, None, None, None, "error", _config_or_none(), decision=Decision.DENY.label, error=why)
    except BaseException:
        pass
    try:
        respond(agent if agent in AGENTS else "claude-code", Answer("deny", reason, reason))
        return 0
    except BaseException:
        try:
            sys.stderr.write(reason + "\n")
        except BaseException:
            pass
        return 2
