"""The waiter's side of previews: while the request waits, compute its blast radius in the
requester's own process (its cwd, environment and user, never the approver's) and send it to the
console on the request's connection as ``{"type": "preview", "id": N, "preview": {...}}``.

In wait mode a thread computes it, so the waiter keeps reading the console's decision (a preview
never delays a decision; a SIGKILLed waiter still drops its connection at once).  In deferred mode
the waiter returns at once, so a detached child process (stdio on /dev/null, so the agent is not
kept waiting on its pipes) finishes the preview and sends it on the inherited connection.
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Any, Mapping

from guardsh.approval import protocol
from guardsh.engine.config import Config
from guardsh.engine.model import Verdict

MAX_AUDIT_LINES = 60


class Previewer:
    def __init__(self, verdict: Verdict, config: Config, env: Mapping[str, str]) -> None:
        self.verdict, self.config, self.env = verdict, config, env
        self.result: dict[str, Any] | None = None
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.prepared: Any = None
        self.wanted = False
        if float(getattr(config, "preview_timeout", 0)) <= 0:
            return
        try:  # the plans are derived at once (pure and quick); only commands that have one are previewed
            from guardsh.engine.rules import load_rules
            from guardsh.preview import Prepared

            self.prepared = Prepared(verdict, load_rules(), config, env)
            self.wanted = self.prepared.wanted
        except Exception as e:  # a preview failure is shown, never fatal to the request
            self.failure = f"the preview failed ({type(e).__name__}: {e})"
            self.wanted = True

    def compute(self) -> dict[str, Any]:
        try:
            if self.prepared is None:
                return {"problem": self.failure, "items": []}
            return self.prepared.run()  # type: ignore[no-any-return]
        except Exception as e:  # a preview failure is shown, never fatal to the request
            return {"problem": f"the preview failed ({type(e).__name__}: {e})", "items": []}

    def send(self, sock: socket.socket, rid: int | None, result: dict[str, Any]) -> None:
        try:
            data = protocol.encode({"type": "preview", "id": rid, "preview": result})
        except protocol.ProtocolError:
            data = protocol.encode({"type": "preview", "id": rid,
                                    "preview": {"problem": "the preview was too large to send", "items": []}})
        with self.lock:
            try:
                sock.sendall(data)
            except OSError:
                pass

    def start(self, sock: socket.socket, rid: int | None) -> None:
        """Wait mode: compute in a thread and send when done."""
        def work() -> None:
            result = self.compute()
            self.result = result
            self.send(sock, rid, result)

        self.thread = threading.Thread(target=work, name="guardsh-preview", daemon=True)
        self.thread.start()

    def detach(self, sock: socket.socket, rid: int | None) -> None:
        """Deferred mode: a child process computes and sends it; this process goes on at once."""
        try:
            pid = os.fork()
        except OSError:
            return
        if pid:
            return
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            self.send(sock, rid, self.compute())
        finally:
            os._exit(0)

    def stop(self) -> None:
        """The request is decided or withdrawn: preview processes still running are ended."""
        if self.thread is not None and self.thread.is_alive():
            from guardsh.preview.run import stop_all

            stop_all()

    def audit_lines(self) -> list[str] | None:
        """What the audit record keeps: the preview as text, bounded (None: no preview wanted)."""
        if not self.wanted:
            return None
        if self.result is None:
            return ["preview: not finished when the request was decided"]
        from guardsh.preview.show import render

        lines = render(self.result)
        return lines[:MAX_AUDIT_LINES] + ([f"… {len(lines) - MAX_AUDIT_LINES} more lines"]
                                          if len(lines) > MAX_AUDIT_LINES else [])


# --- the console's side: what it keeps of a waiter's preview -------------------------------------

def clean_preview(value: object) -> dict[str, Any]:
    """A preview from a waiter, reduced to the fields the console shows, as bounded one-line texts."""
    if not isinstance(value, dict):
        return {"problem": "the preview was malformed", "items": []}
    out: dict[str, Any] = {"items": [], "elapsed_ms": value.get("elapsed_ms") if isinstance(value.get("elapsed_ms"), int) else None}
    if value.get("problem"):
        out["problem"] = _one_line(value["problem"], 500)
    items = value.get("items") if isinstance(value.get("items"), list) else []
    for item in items[:8]:
        if not isinstance(item, dict):
            continue
        sections = []
        for sec in (item.get("sections") if isinstance(item.get("sections"), list) else [])[:12]:
            if isinstance(sec, dict):
                lines = sec.get("lines") if isinstance(sec.get("lines"), list) else []
                sections.append({k: _one_line(sec.get(k) or "", 300) for k in ("label", "command", "status", "summary")}
                                | {"lines": [_keep_spaces(x) for x in lines[:40]]})
        notes = item.get("notes") if isinstance(item.get("notes"), list) else []
        out["items"].append({k: _one_line(item.get(k) or "", 500) for k in ("command", "what", "status", "problem")}
                            | {"notes": [_one_line(n, 500) for n in notes[:10]], "sections": sections})
    return out


def _keep_spaces(text: object, limit: int = 300) -> str:
    """One line of tool output: inner spacing kept (diff --stat columns), line breaks removed."""
    s = str(text).replace("\r", " ").replace("\n", " ").rstrip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _one_line(text: object, limit: int = 500) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"
