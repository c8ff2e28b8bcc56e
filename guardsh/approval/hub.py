"""The queue of commands waiting for a human: every piece of approval state for one console session.

The :class:`Hub` owns pending requests, the history of decisions, grants ("allow this exact
command in this cwd" and deferred single-use approvals), the memory of denials and the circuit
breaker.  It runs on one asyncio loop, so each request changes state exactly once: a decision on
a request that is no longer pending is refused, whoever sends it.  A catastrophic request needs
approvals from two different consoles.
"""
from __future__ import annotations

import asyncio
import json
import os
import pwd
import time
from collections import deque
from typing import Any, Callable

from guardsh import paths
from guardsh.approval import protocol
from guardsh.engine.config import Config
from guardsh.engine.model import Risk

MAX_COMMAND = 256 * 1024
HISTORY = 200
KEPT = 2000  # decided requests kept (by id) for late decisions to be answered "already decided"


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def console_name() -> str:
    """Who decides at this console: user, host-local terminal and pid."""
    tty = ""
    for fd in (0, 1, 2):
        try:
            tty = os.ttyname(fd).removeprefix("/dev/")
            break
        except OSError:
            continue
    return f"{user_name(os.getuid())}@{tty or 'console'}"


def one_line(text: object, limit: int = 500) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


class Request:
    """One command waiting for (or decided by) a human."""

    def __init__(self, rid: int, data: dict[str, Any], peer: tuple[int, int, int], now: float) -> None:
        self.id = rid
        self.data = data
        self.pid, self.uid, _gid = peer
        self.key = (data["command"], data["cwd"], self.uid)
        self.received = now  # time.time(): consoles show how long it has waited
        self.deferred = bool(data.get("deferred"))
        self.needed = 2 if data["risk"] == "catastrophic" else 1
        self.approvals: list[tuple[int, str]] = []  # (console id, console name)
        self.state = "pending"
        self.by = ""
        self.reason = ""
        self.note = ""
        self.decided: float | None = None
        self.writer: asyncio.StreamWriter | None = None

    def view(self) -> dict[str, Any]:
        d = self.data
        return {
            "id": self.id, "command": d["command"], "cwd": d["cwd"], "user": user_name(self.uid),
            "uid": self.uid, "pid": self.pid, "agent": d.get("agent"), "parent": d.get("parent", ""),
            "parents": d.get("parents", []), "risk": d["risk"], "matches": d.get("matches", []),
            "context": d.get("context", {}), "confirm": d.get("confirm"), "deferred": self.deferred,
            "received": self.received, "needed": self.needed,
            "approvals": [name for _cid, name in self.approvals], "state": self.state,
            "by": self.by, "reason": self.reason, "note": self.note, "parse": d.get("parse", ""),
            "notes": d.get("notes", []), "previewing": d.get("previewing", False), "preview": d.get("preview"),
            "shown": d.get("shown") or d["command"],
        }


class Grant:
    __slots__ = ("key", "single_use", "expires", "request", "by")

    def __init__(self, key: tuple[str, str, int], single_use: bool, expires: float, request: int, by: str) -> None:
        self.key, self.single_use, self.expires, self.request, self.by = key, single_use, expires, request, by


class Link:
    """A console attached to the hub: ``send`` delivers one event (a protocol message)."""

    def __init__(self, cid: int, name: str, send: Callable[[dict[str, Any]], None]) -> None:
        self.id = cid
        self.name = name
        self.send = send


def validate_request(msg: dict[str, Any]) -> dict[str, Any]:
    """Check a waiter's request; anything odd is refused (and so denied by the waiter)."""

    def text(key: str, limit: int = MAX_COMMAND, optional: bool = False) -> str | None:
        v = msg.get(key)
        if v is None and optional:
            return None
        if not isinstance(v, str) or len(v) > limit:
            raise protocol.ProtocolError(f"request field {key!r} must be a string of at most {limit} characters")
        return v

    data: dict[str, Any] = {
        "command": text("command"), "cwd": text("cwd", 4096), "risk": text("risk", 20),
        "agent": text("agent", 200, optional=True), "parent": text("parent", 200, optional=True) or "",
        "confirm": text("confirm", 200, optional=True), "parse": text("parse", 20, optional=True) or "",
    }
    if data["risk"] not in Risk.LABELS:
        raise protocol.ProtocolError("request field 'risk' is not a risk")
    if not data["command"].strip():
        raise protocol.ProtocolError("empty command")
    shown = text("shown", optional=True)
    # the agent's command inside its wrapper: shown only if it is part of the text approved
    if shown and shown.strip() and " ".join(shown.split()) in " ".join(data["command"].split()):
        data["shown"] = shown
    data["deferred"] = msg.get("deferred") is True
    data["previewing"] = msg.get("previewing") is True  # a preview message follows (issue 15)
    matches = msg.get("matches", [])
    if not isinstance(matches, list) or len(matches) > 100:
        raise protocol.ProtocolError("request field 'matches' must be a list")
    data["matches"] = []
    for m in matches:
        if not isinstance(m, dict):
            raise protocol.ProtocolError("a match must be an object")
        data["matches"].append({k: one_line(m.get(k) or "", 2000) for k in ("rule", "risk", "reason", "suggest", "at")})
    for key in ("context",):
        value = msg.get(key, {})
        if not isinstance(value, dict):
            raise protocol.ProtocolError(f"request field {key!r} must be an object")
        data[key] = {one_line(k, 100): one_line(v, 300) for k, v in list(value.items())[:20]}
    for key in ("parents", "notes"):
        value = msg.get(key, [])
        if not isinstance(value, list):
            raise protocol.ProtocolError(f"request field {key!r} must be a list")
        data[key] = [one_line(v, 300) for v in value[:10]]
    return data


class Hub:
    """All approval state of one console session (see the module docstring)."""

    def __init__(self, config: Config | None = None, log_path: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or Config()
        self.clock = clock
        self.log_path = log_path
        self.next_id = 1
        self.next_console = 1
        self.requests: dict[int, Request] = {}  # every request of the session, by id
        self.history: deque[Request] = deque(maxlen=HISTORY)
        self.consoles: dict[int, Link] = {}
        self.grants: list[Grant] = []
        self.denials: dict[tuple[str, str, int], Request] = {}
        self.recent: deque[float] = deque()  # arrival times of destructive requests (breaker)
        self.tripped = False

    # --- consoles ----------------------------------------------------------------------

    def attach(self, name: str, send: Callable[[dict[str, Any]], None]) -> Link:
        link = Link(self.next_console, name, send)
        self.next_console += 1
        self.consoles[link.id] = link
        link.send({"type": "snapshot", "console": link.id, "name": name,
                   "pending": [r.view() for r in self.pending()],
                   "history": [r.view() for r in list(self.history)[-20:]],
                   "breaker": self.breaker_view()})
        self.broadcast({"type": "notice", "text": f"console {name} attached"}, skip=link.id)
        return link

    def detach(self, link: Link) -> None:
        if self.consoles.pop(link.id, None) is not None:
            self.broadcast({"type": "notice", "text": f"console {link.name} left"})

    def broadcast(self, event: dict[str, Any], skip: int | None = None) -> None:
        for link in list(self.consoles.values()):
            if link.id != skip:
                link.send(event)

    def pending(self) -> list[Request]:
        return [r for r in self.requests.values() if r.state == "pending"]

    def breaker_view(self) -> dict[str, Any]:
        now = self.clock()
        while self.recent and self.recent[0] < now - self.config.breaker_window:
            self.recent.popleft()
        return {"tripped": self.tripped, "max": self.config.breaker_max, "window": self.config.breaker_window,
                "count": len(self.recent)}

    # --- requests from waiters ---------------------------------------------------------

    def submit(self, data: dict[str, Any], peer: tuple[int, int, int]) -> Request:
        """Take a request: decide it at once from a grant, a remembered denial or the circuit
        breaker, or queue it for the consoles.  Returns the request (check ``state``)."""
        now = self.clock()
        self._expire(now)
        req = Request(self.next_id, data, peer, now)
        self.next_id += 1
        self.requests[req.id] = req
        grant = next((g for g in self.grants if g.key == req.key), None)
        if grant is not None:
            if grant.single_use:
                self.grants.remove(grant)
            how = "single-use grant" if grant.single_use else "allowed for this session"
            self._resolve(req, "approved", f"grant from request {grant.request}", "",
                          f"{how}, approved by {grant.by}")
            return req
        denied = self.denials.get(req.key)
        if denied is not None:
            ago = int(now - (denied.decided or now))
            why = f" ({denied.reason})" if denied.reason else ""
            self._resolve(req, "denied", "denial memory", denied.reason,
                          f"{denied.by} denied this exact command {ago} s ago (request {denied.id}){why}")
            return req
        twin = next((r for r in self.pending() if r.key == req.key and r.deferred and r is not req), None)
        if twin is not None:
            self._resolve(req, "denied", "queue", "",
                          f"request {twin.id} for this exact command is still waiting for the human")
            return req
        if Risk.parse(data["risk"]) >= Risk.DESTRUCTIVE and self.config.breaker_max > 0:
            if self.tripped:
                self._resolve(req, "denied", "circuit breaker", "",
                              "the circuit breaker is tripped: destructive commands are denied until the human resets it")
                return req
            self.recent.append(now)
            while self.recent and self.recent[0] < now - self.config.breaker_window:
                self.recent.popleft()
            if len(self.recent) > self.config.breaker_max:
                self.tripped = True
                self.broadcast({"type": "breaker", **self.breaker_view()})
                self._resolve(req, "denied", "circuit breaker", "",
                              f"more than {self.config.breaker_max} destructive requests within "
                              f"{self.config.breaker_window:g} s tripped the circuit breaker; destructive "
                              "commands are denied until the human resets it on the console")
                return req
        self.broadcast({"type": "added", "request": req.view(), "breaker": self.breaker_view()})
        return req

    def withdraw(self, req: Request, why: str) -> None:
        """The waiter left (signal, kill, timeout) before a decision, or after one without
        running it."""
        if req.state == "pending":
            state = "timed out" if why == "timeout" else "cancelled"
            note = {"timeout": "no decision before the requester's timeout",
                    "signal": "the requester was interrupted"}.get(why, "the requester went away")
            self._resolve(req, state, "requester", "", note)
        elif req.state == "approved" and why != "ran":
            self.broadcast({"type": "notice", "level": "error", "id": req.id,
                            "text": f"request {req.id} was approved but its requester had already "
                                    "given up: nothing ran"})

    def preview(self, req: Request, message: dict[str, Any]) -> None:
        """The waiter's blast-radius preview of its own request: shown beside it, kept in the log."""
        if req.data.get("preview") is not None or not req.data.get("previewing"):
            return  # one preview per request, and only one that was announced
        from guardsh.approval.previewing import clean_preview

        req.data["preview"] = clean_preview(message.get("preview"))
        self.broadcast({"type": "preview", "id": req.id, "request": req.view()})

    def expire_deferred(self) -> None:
        self._expire(self.clock())

    def _expire(self, now: float) -> None:
        self.grants = [g for g in self.grants if g.expires > now]
        memory = self.config.denial_memory
        for key, r in list(self.denials.items()):
            if memory <= 0 or (r.decided or 0) + memory < now:
                del self.denials[key]
        for r in self.pending():
            if r.deferred and r.received + self.config.grant_validity < now:
                self._resolve(r, "expired", "console", "", "nobody decided before the grant validity ran out")

    # --- decisions from consoles -------------------------------------------------------

    def decide(self, link: Link, rid: object, decision: object, reason: object = None,
               confirm: object = None) -> str | None:
        """Apply a console's decision; returns an error text (sent to that console) or None."""
        error = self._decide(link, rid, decision, reason, confirm)
        if error:
            link.send({"type": "notice", "level": "error", "id": rid, "text": error})
        return error

    def _decide(self, link: Link, rid: object, decision: object, reason: object, confirm: object) -> str | None:
        if not isinstance(rid, int) or isinstance(rid, bool) or rid not in self.requests:
            return f"there is no request {rid}"
        req = self.requests[rid]
        if req.state != "pending":
            who = f" by {req.by}" if req.by else ""
            return f"request {rid} is already {req.state}{who}"
        if decision == protocol.DENY:
            self._resolve(req, "denied", link.name, one_line(reason or "", 300), "", remember=True)
            return None
        if decision not in (protocol.APPROVE, protocol.ALWAYS):
            return f"unknown decision {decision!r}"
        if req.data.get("confirm") and confirm != req.data["confirm"]:
            return (f"request {rid} needs the confirmation {req.data['confirm']!r} typed exactly; "
                    "it was not approved and is still waiting")
        if req.needed > 1:
            if decision == protocol.ALWAYS:
                return f"request {rid} is catastrophic: it can only be approved once, by two people"
            if any(cid == link.id for cid, _name in req.approvals):
                return (f"you already approved request {rid}; it needs a second approval "
                        "from another person's console")
            req.approvals.append((link.id, link.name))
            if len(req.approvals) < req.needed:
                self.broadcast({"type": "updated", "request": req.view()})
                return None
        else:
            req.approvals.append((link.id, link.name))
        by = " and ".join(name for _cid, name in req.approvals)
        now = self.clock()
        note = ""
        if decision == protocol.ALWAYS:
            until = now + self.config.session_grant_validity
            self.grants.append(Grant(req.key, False, until, req.id, by))
            note = f"allowed in this directory for the session, until {time.strftime('%H:%M', time.localtime(until))}"
        elif req.deferred:
            until = now + self.config.grant_validity
            self.grants.append(Grant(req.key, True, until, req.id, by))
            note = f"single-use grant until {time.strftime('%H:%M:%S', time.localtime(until))}: re-run it to use it"
        self._resolve(req, "approved", by, "", note)
        return None

    def reset_breaker(self, link: Link) -> None:
        self.tripped = False
        self.recent.clear()
        self.broadcast({"type": "breaker", **self.breaker_view(), "by": link.name})

    # --- resolution --------------------------------------------------------------------

    def _resolve(self, req: Request, state: str, by: str, reason: str, note: str, remember: bool = False) -> None:
        assert req.state == "pending", "a request is decided once"
        req.state, req.by, req.reason, req.note = state, by, reason, note
        req.decided = self.clock()
        if remember and self.config.denial_memory > 0:
            self.denials[req.key] = req
        if req.writer is not None and not req.deferred:
            send_message(req.writer, {"type": "decision", "id": req.id,
                                "decision": protocol.APPROVE if state == "approved" else protocol.DENY,
                                "state": state, "by": by, "reason": reason, "note": note})
        self.history.append(req)
        self.broadcast({"type": "resolved", "request": req.view()})
        self._log(req)
        if len(self.requests) > KEPT:
            for rid in [r for r, old in self.requests.items() if old.state != "pending"][: len(self.requests) - KEPT]:
                del self.requests[rid]

    def _log(self, req: Request) -> None:
        if not self.log_path:
            return
        v = req.view()
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(req.decided or 0)),
                  "id": req.id, "state": req.state, "by": req.by, "reason": req.reason, "note": req.note,
                  "command": v["command"], "cwd": v["cwd"], "user": v["user"], "pid": v["pid"],
                  "agent": v["agent"], "risk": v["risk"], "rules": [m["rule"] for m in v["matches"]],
                  "approvals": v["approvals"]}
        if v.get("preview") is not None:
            from guardsh.preview.show import render

            record["preview"] = render(v["preview"])[:60]
        try:
            os.makedirs(os.path.dirname(self.log_path), mode=0o700, exist_ok=True)
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except OSError:
            pass


def send_message(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    try:
        if not writer.is_closing():
            writer.write(protocol.encode(message))
    except (OSError, RuntimeError, protocol.ProtocolError):
        pass


def decisions_log_path(env: dict[str, str] | os._Environ[str] | None = None) -> str:
    return paths.approvals_log(env)
