"""The waiting side: ``guardsh -c`` asks the approver console and waits for a human.

Imported only when a command needs approval (never on the allow path).  Everything that is
not a clear, well-formed approval for this very request is a denial: no console, a console run
by someone else, a timeout, a closed connection, a malformed reply.  SIGINT, SIGTERM and SIGHUP
while waiting withdraw the request and the process then dies by that signal, as bash would;
nothing runs.  A SIGKILLed waiter's connection drops, which the console shows as cancelled.

In deferred mode the request stays on the console and the agent is told at once to re-run the
identical command once the human has approved it; the approval is a single-use grant for this
command text, cwd and user.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any, Callable

from guardsh.approval import protocol
from guardsh.approval.previewing import Previewer
from guardsh.engine.config import Config
from guardsh.engine.headline import agent_command
from guardsh.engine.model import Risk, Verdict
from guardsh.engine.report import refusal

# Environment variables that tell which agent runs the command (checked in this order).
AGENT_ENV = (
    ("CLAUDECODE", "Claude Code"),
    ("CODEX_THREAD_ID", "Codex"),
    ("CODEX_SANDBOX", "Codex"),
    ("CODEX_MANAGED_BY_NPM", "Codex"),
    ("GEMINI_CLI", "Gemini CLI"),
    ("CURSOR_AGENT", "Cursor"),
    ("CURSOR_TRACE_ID", "Cursor"),
    ("AIDER_MODEL", "Aider"),
)
AGENT_PROCESSES = {"claude": "Claude Code", "codex": "Codex", "gemini": "Gemini CLI", "aider": "Aider",
                   "cursor-agent": "Cursor", "opencode": "opencode", "goose": "Goose"}
# Agents that kill a command that runs longer than a few seconds: deferred mode under 'auto'.
FAST_TIMEOUT_AGENTS = ("Codex",)
PRODUCTION_NOTE = "production: "  # a verdict note 'production: NAME ...' asks for NAME to be typed
WITHDRAW_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

START_HINT = (
    "No approver console is running, so nothing that needs approval can run. Ask the user to start "
    "one in a terminal of their own (not this one): guardsh approver"
)


class _Withdrawn(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Approval:
    """The outcome: ``approved`` (the caller execs the text), ``state`` (approved, denied,
    timed out, deferred, unavailable, error) and who decided."""

    __slots__ = ("approved", "state", "by", "request", "preview")

    def __init__(self, approved: bool, state: str, by: str = "", request: int | None = None,
                 preview: list[str] | None = None) -> None:
        self.approved, self.state, self.by, self.request = approved, state, by, request
        self.preview = preview  # the blast-radius preview as text, for the audit record


def request_approval(verdict: Verdict, config: Config,
                     before_run: Callable[[str, list[str] | None], object] | None = None,
                     env: dict[str, str] | os._Environ[str] | None = None) -> Approval:
    """Ask the console and wait.  On approval ``before_run(approver)`` is called (it may raise to
    refuse after all, e.g. when the audit record cannot be written) and the caller then execs
    exactly the classified text; otherwise the refusal, with the human's reason, is on stderr."""
    env = os.environ if env is None else env
    if verdict.risk == Risk.CATASTROPHIC:
        verdict = _as_ask(verdict)
    waiter = Waiter(verdict, config, env, before_run)
    try:
        approved = waiter.run()
    finally:
        waiter.close()
    return Approval(approved, "approved" if approved else waiter.state, waiter.by, waiter.rid,
                    waiter.previewer.audit_lines())


def _as_ask(verdict: Verdict) -> Verdict:
    from guardsh.engine.model import Decision

    values = {f: getattr(verdict, f) for f in Verdict.__slots__}
    values["decision"] = Decision.ASK
    return Verdict(**values)


class Waiter:
    def __init__(self, verdict: Verdict, config: Config, env: dict[str, str] | os._Environ[str],
                 before_run: Callable[[str, list[str] | None], object] | None = None) -> None:
        self.verdict = verdict
        self.config = config
        self.env = env
        self.before_run = before_run
        self.state = "error"
        self.by = ""
        self.sock: socket.socket | None = None
        self.rid: int | None = None
        self.saved: dict[int, Any] = {}
        self.previewer = Previewer(verdict, config, env)  # issue 15: the blast radius, computed while waiting

    # --- the exchange --------------------------------------------------------------------

    def run(self) -> bool:
        try:
            path, uid = self.target()
        except protocol.ProtocolError as e:
            return self.refuse(f"guardsh is not configured to reach an approver ({e}).")
        request = build_request(self.verdict, self.config, self.env)
        request["previewing"] = self.previewer.wanted
        try:
            self.catch_signals()
            try:
                self.sock = protocol.connect(path, uid)
            except (FileNotFoundError, ConnectionRefusedError):
                self.state = "unavailable"
                return self.refuse(START_HINT)
            except protocol.ProtocolError as e:
                return self.refuse(f"The approver socket cannot be trusted ({e}), so nothing that needs approval runs.")
            except OSError as e:
                return self.refuse(f"The approver console cannot be reached ({e.strerror or e}).")
            try:
                return self.exchange(request)
            except (OSError, protocol.ProtocolError) as e:
                return self.refuse(f"The exchange with the approver console failed ({e}), so nothing was run.")
        except _Withdrawn as w:
            self.withdraw(w.signum)
            raise AssertionError("unreachable")  # withdraw() kills this process
        finally:
            self.restore_signals()

    def target(self) -> tuple[str, int]:
        if self.config.approver_socket:
            if self.config.approver_uid is None:
                raise protocol.ProtocolError("approver_socket is set but approver_uid is not")
            return self.config.approver_socket, self.config.approver_uid
        return protocol.socket_path(self.env), os.getuid()

    def exchange(self, request: dict[str, Any]) -> bool:
        assert self.sock is not None
        deadline = time.monotonic() + float(self.config.approval_timeout)
        self.sock.sendall(protocol.encode(request))
        reader = protocol.LineReader()
        queue: list[dict[str, Any]] = []
        announced = False
        while True:
            if not queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self.timed_out()
                self.sock.settimeout(remaining)
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    return self.timed_out()
                except OSError:
                    data = b""
                if not data:
                    return self.refuse("The approver console closed before deciding, so nothing was run.")
                try:
                    queue.extend(reader.feed(data))
                except protocol.ProtocolError:
                    return self.refuse("The approver console sent a malformed reply, so nothing was run.")
                continue
            msg = queue.pop(0)
            kind = msg.get("type")
            if kind == "queued" and not announced and _is_id(msg.get("id")):
                self.rid = int(msg["id"])
                announced = True
                if msg.get("deferred") is True and request["deferred"]:
                    if self.previewer.wanted:
                        self.previewer.detach(self.sock, self.rid)
                    return self.deferred()
                if self.previewer.wanted:
                    self.previewer.start(self.sock, self.rid)
                self.say_waiting()
            elif kind == "decision":
                return self.decided(msg)
            elif kind == "error":
                return self.refuse(f"The approver console refused the request: {_text(msg.get('text'))}.")
            else:
                return self.refuse("The approver console sent an unexpected reply, so nothing was run.")

    def decided(self, msg: dict[str, Any]) -> bool:
        rid = msg.get("id")
        if not _is_id(rid) or (self.rid is not None and rid != self.rid):
            return self.refuse("The approver console answered another request, so nothing was run.")
        self.rid = int(rid)  # type: ignore[arg-type]
        state, by = msg.get("state"), _text(msg.get("by"))
        self.by = by
        if msg.get("decision") == protocol.APPROVE and state == "approved":
            assert self.sock is not None
            snapshot = None  # before_run may return the id of the snapshot taken first (issue 14)
            if self.before_run is not None:
                try:
                    snapshot = self.before_run(by, self.previewer.audit_lines())
                except Exception as e:  # e.g. the audit record cannot be written
                    self.send_quietly({"type": "cancel", "id": self.rid, "why": "error"})
                    return self.refuse(f"Approved by {by}, but not run: {e}.")
            ack: dict[str, Any] = {"type": "ack", "id": self.rid}
            if isinstance(snapshot, str):
                ack["snapshot"] = snapshot
            try:
                with self.previewer.lock:
                    self.sock.sendall(protocol.encode(ack))
            except OSError:
                pass
            note = _text(msg.get("note"))
            how = f" ({note})" if note else ""
            sys.stderr.write(f"guardsh: approved by {by or 'the approver'} (request {self.rid}){how}\n")
            sys.stderr.flush()
            return True
        if msg.get("decision") != protocol.DENY:
            return self.refuse("The approver console sent a malformed decision, so nothing was run.")
        self.state = state if isinstance(state, str) and state in ("denied", "expired") else "denied"
        reason, note = _text(msg.get("reason")), _text(msg.get("note"))
        if by == "denial memory":
            why = f"Already denied on the approver console: {note}. Do not retry it."
        elif by == "circuit breaker":
            why = f"Denied without asking: {note}."
        elif by == "queue":
            why = (f"Not run: {note}. Re-run this exact command only after the user tells you "
                   "they approved it.")
        elif state == "expired":
            why = f"Request {self.rid} expired on the approver console: {note}."
        else:
            why = f"Denied by {by or 'the human'} on the approver console (request {self.rid})."
            if reason:
                why += f"\n  Their reason: {reason}"
        return self.refuse(why)

    def say_waiting(self) -> None:
        rule = _main_rule(self.verdict)
        minutes = float(self.config.approval_timeout)
        limit = f"{minutes / 60:g} min" if minutes >= 60 else f"{minutes:g} s"
        sys.stderr.write(
            f"guardsh: waiting for approval on the approver console (request {self.rid}, {rule})… "
            f"(up to {limit})\n"
        )
        sys.stderr.flush()

    def deferred(self) -> bool:
        self.state = "deferred"
        rule = _main_rule(self.verdict)
        sys.stderr.write(
            f"guardsh: not run yet: approval requested on the approver console (request {self.rid}, {rule}).\n"
            f"  command: {_one_line(agent_command(self.verdict))}\n"
            "  Tell the user what this command does and why, and ask them to approve request "
            f"{self.rid} on the approver console. After they approve it, run exactly the same "
            "command again from the same directory: the approval is valid once, for this exact text.\n"
        )
        sys.stderr.flush()
        return False

    def timed_out(self) -> bool:
        self.state = "timed out"
        self.send_quietly({"type": "cancel", "id": self.rid, "why": "timeout"})
        return self.refuse(
            f"Nobody decided within {float(self.config.approval_timeout):g} s (request {self.rid}), so it was denied."
        )

    def refuse(self, why: str) -> bool:
        sys.stderr.write(refusal(self.verdict, why))
        sys.stderr.flush()
        return False

    # --- signals -------------------------------------------------------------------------

    def catch_signals(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            raise _Withdrawn(signum)

        for sig in WITHDRAW_SIGNALS:
            old = signal.getsignal(sig)
            if old == signal.SIG_IGN:  # ignored by the caller (nohup): it stays ignored
                continue
            self.saved[sig] = old
            signal.signal(sig, handler)

    def restore_signals(self) -> None:
        for sig, old in self.saved.items():
            signal.signal(sig, old)
        self.saved.clear()

    def withdraw(self, signum: int) -> None:
        """Withdraw the request and die by the same signal; nothing runs."""
        for sig in self.saved:
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not interrupt the clean-up
        self.send_quietly({"type": "cancel", "id": self.rid, "why": "signal"})
        self.close()
        name = signal.Signals(signum).name
        try:
            sys.stderr.write(f"guardsh: {name} while waiting for approval: request withdrawn, nothing was run\n")
            sys.stderr.flush()
        except OSError:
            pass
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)

    def send_quietly(self, message: dict[str, Any]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.setblocking(False)
            self.sock.send(protocol.encode(message))
        except OSError:
            pass

    def close(self) -> None:
        self.previewer.stop()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


# --- what the console is told ---------------------------------------------------------------

def build_request(verdict: Verdict, config: Config, env: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    parents = parent_names(os.getpid())
    agent = detect_agent(env, parents)
    mode = config.approval_mode
    deferred = mode == "deferred" or (mode == "auto" and agent in FAST_TIMEOUT_AGENTS)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = env.get("PWD", "?")
    return {
        "type": "request", "v": protocol.VERSION, "command": verdict.command, "cwd": cwd,
        "risk": verdict.risk.label, "matches": [m.to_json() for m in verdict.matches],
        "agent": agent, "parent": parents[0] if parents else "", "parents": parents,
        "context": context_of(env, cwd), "confirm": production_name(verdict),
        "parse": verdict.parse, "notes": list(verdict.notes), "deferred": deferred,
        **({"shown": shown} if (shown := agent_command(verdict)) != verdict.command else {}),
    }


def detect_agent(env: dict[str, str] | os._Environ[str], parents: list[str]) -> str | None:
    for var, name in AGENT_ENV:
        if env.get(var):
            return name
    for proc in parents:
        if proc in AGENT_PROCESSES:
            return AGENT_PROCESSES[proc]
    return None


def parent_names(pid: int, depth: int = 4) -> list[str]:
    """Names of the parent, grandparent... processes (``/proc/PID/comm``)."""
    from guardsh.procs import stat_fields

    names = []
    fields = stat_fields(pid)
    for _ in range(depth):
        if not fields:
            break
        ppid = int(fields[1])
        if ppid <= 1:
            break
        try:
            with open(f"/proc/{ppid}/comm", "rb") as f:
                names.append(f.read().decode(errors="replace").strip())
        except OSError:
            break
        fields = stat_fields(ppid)
    return names


def context_of(env: dict[str, str] | os._Environ[str], cwd: str) -> dict[str, str]:
    """Where the command would act, when guardsh can tell cheaply: kube context, AWS profile,
    terraform workspace, gcloud project."""
    ctx = {}
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    if profile:
        ctx["AWS profile"] = profile
    kubeconfig = (env.get("KUBECONFIG") or "").split(":")[0] or os.path.join(env.get("HOME", "~"), ".kube", "config")
    current = _first_line_value(kubeconfig, "current-context:")
    if current:
        ctx["kube context"] = current
    workspace = env.get("TF_WORKSPACE") or _read_small(os.path.join(cwd, ".terraform", "environment"))
    if workspace:
        ctx["terraform workspace"] = workspace.strip()
    project = env.get("CLOUDSDK_CORE_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
    if project:
        ctx["gcloud project"] = project
    return ctx


def production_name(verdict: Verdict) -> str | None:
    """The name a human must type to approve, when the command acts on production: taken from a
    verdict note ``production: NAME ...`` (the production context, issue 6, adds it)."""
    for note in verdict.notes:
        if note.startswith(PRODUCTION_NOTE):
            words = note[len(PRODUCTION_NOTE):].split()
            if words:
                return words[0]
    return None


def _first_line_value(path: str, prefix: str) -> str | None:
    text = _read_small(path, 256 * 1024)
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip().strip("'\"") or None
    return None


def _read_small(path: str, limit: int = 4096) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _main_rule(verdict: Verdict) -> str:
    strict = [m for m in verdict.matches if m.risk == verdict.risk] or list(verdict.matches)
    return strict[0].rule if strict else verdict.risk.label


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _one_line(text: str, limit: int = 200) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"
