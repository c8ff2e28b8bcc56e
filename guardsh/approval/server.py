"""The approver's socket server: the user's socket (and, in separate-user mode, a request-only
socket for agents running as other users), serving the :class:`~guardsh.approval.hub.Hub`.

Consoles (the prompt-toolkit UI in the approver's process, a second ``guardsh approver``
started while this one runs, or an automated approver) all see the same events and send the
same ``decide`` messages (see :mod:`guardsh.approval.protocol`).  The first ``guardsh approver``
takes the lock in the socket directory and serves; one started while it runs attaches to it as a
second console.
"""
from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Any, Callable

from guardsh.approval import protocol
from guardsh.approval.hub import Hub, Link, one_line, send_message, user_name, validate_request
from guardsh.procs import guarded_ancestor

FIRST_MESSAGE_TIMEOUT = 10.0

class Server:
    """Serves the hub on the user's socket (and, optionally, a request-only socket for agents
    running as other users)."""

    def __init__(self, hub: Hub, agent_uids: tuple[int, ...] = ()) -> None:
        self.hub = hub
        self.agent_uids = agent_uids
        self.servers: list[asyncio.base_events.Server] = []
        self.paths: list[str] = []

    async def start(self, path: str, agent_path: str | None = None) -> None:
        self.servers.append(await _listen(path, 0o600, lambda r, w: self.connection(r, w, request_only=False)))
        self.paths.append(path)
        if agent_path:
            self.servers.append(await _listen(agent_path, 0o666, lambda r, w: self.connection(r, w, request_only=True)))
            self.paths.append(agent_path)

    def close(self) -> None:
        for s in self.servers:
            s.close()
        for p in self.paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        if len(self.paths) > 1:
            try:
                os.unlink(os.path.join(os.path.dirname(self.paths[1]), protocol.LOCK_NAME))
                os.rmdir(os.path.dirname(self.paths[1]))  # the agents' request directory, now empty
            except OSError:
                pass

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request_only: bool) -> None:
        sock = writer.get_extra_info("socket")
        try:
            peer = protocol.peer_cred(sock)
        except OSError:
            writer.close()
            return
        allowed = self.agent_uids if request_only else (os.getuid(),)
        if peer[1] not in allowed:
            send_message(writer, {"type": "error", "text": f"uid {peer[1]} may not use this socket"})
            writer.close()
            return
        messages = Messages(reader)
        try:
            first = await asyncio.wait_for(messages.next(), FIRST_MESSAGE_TIMEOUT)
            if first is None:
                return
            if first["type"] == "request":
                await self.waiter(first, peer, writer, messages)
            elif first["type"] == "console" and not request_only:
                await self.console(first, peer, writer, messages)
            else:
                send_message(writer, {"type": "error", "text": "unexpected message"})
        except (protocol.ProtocolError, ConnectionError, OSError) as e:
            send_message(writer, {"type": "error", "text": str(e)})
        except asyncio.TimeoutError:
            send_message(writer, {"type": "error", "text": "no request"})
        finally:
            try:
                writer.close()
            except RuntimeError:
                pass

    async def waiter(self, msg: dict[str, Any], peer: tuple[int, int, int], writer: asyncio.StreamWriter,
                     messages: Messages) -> None:
        data = validate_request(msg)
        req = self.hub.submit(data, peer)
        if req.state != "pending":
            send_message(writer, {"type": "decision", "id": req.id,
                            "decision": protocol.APPROVE if req.state == "approved" else protocol.DENY,
                            "state": req.state, "by": req.by, "reason": req.reason, "note": req.note})
            if req.state == "approved":
                await messages.next_or_eof(2.0)  # the ack: it is about to run
            await writer.drain()
            return
        req.writer = writer
        send_message(writer, {"type": "queued", "id": req.id, "deferred": req.deferred})
        why = "gone"
        try:
            while True:
                message = await messages.next()
                if message is None:
                    break
                if message["type"] == "cancel":
                    why = "timeout" if message.get("why") == "timeout" else "signal"
                    break
                if message["type"] == "preview":
                    self.hub.preview(req, message)
                    continue
                if message["type"] == "ack" and req.state == "approved":
                    why = "ran"
                    sid = message.get("snapshot")
                    if isinstance(sid, str) and sid.replace("-", "").isalnum():  # saved first (issue 14)
                        self.hub.broadcast({"type": "notice", "level": "info", "id": req.id,
                                            "text": f"request {req.id} ran; what it destroys was saved first as "
                                                    f"snapshot {sid} (guardsh undo {sid})"})
                    break
        except (protocol.ProtocolError, ConnectionError, OSError):
            pass
        finally:
            req.writer = None
        if not req.deferred:
            self.hub.withdraw(req, why)

    async def console(self, msg: dict[str, Any], peer: tuple[int, int, int], writer: asyncio.StreamWriter,
                      messages: Messages) -> None:
        shell = guarded_ancestor(peer[0])
        if shell is not None:
            send_message(writer, {"type": "error", "text": f"refused: process {peer[0]} runs inside a command guardsh "
                                                     f"ran (shell {shell}); approvals come from the human's terminal"})
            self.hub.broadcast({"type": "notice", "level": "error",
                                "text": f"refused a console connection from process {peer[0]}: it runs inside a "
                                        "command that guardsh ran (an agent trying to approve its own commands?)"})
            await writer.drain()
            return
        name = one_line(msg.get("name") or f"{user_name(peer[1])}@pid{peer[0]}", 80)
        link = self.hub.attach(f"{name} (pid {peer[0]})", lambda event: send_message(writer, event))
        try:
            while True:
                message = await messages.next()
                if message is None:
                    return
                handle_console_message(self.hub, link, message)
                await writer.drain()
        finally:
            self.hub.detach(link)


async def _listen(path: str, mode: int, handler: Callable[..., Any]) -> asyncio.base_events.Server:
    try:
        os.unlink(path)  # a stale socket: we hold the lock, so nobody serves it
    except FileNotFoundError:
        pass
    old = os.umask(0o177 if mode == 0o600 else 0o111)
    try:
        server = await asyncio.start_unix_server(handler, path=path, limit=protocol.MAX_LINE + 1, backlog=128)
    finally:
        os.umask(old)
    os.chmod(path, mode)
    return server


class Messages:
    """Messages read from one connection, in order."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.lines = protocol.LineReader()
        self.queue: deque[dict[str, Any]] = deque()

    async def next(self) -> dict[str, Any] | None:
        """The next message, or None at end of stream."""
        while not self.queue:
            data = await self.reader.read(65536)
            if not data:
                return None
            self.queue.extend(self.lines.feed(data))
        return self.queue.popleft()

    async def next_or_eof(self, timeout: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.next(), timeout)
        except (asyncio.TimeoutError, protocol.ProtocolError, ConnectionError, OSError):
            return None


def handle_console_message(hub: Hub, link: Link, message: dict[str, Any]) -> None:
    if message.get("type") == "decide":
        hub.decide(link, message.get("id"), message.get("decision"), message.get("reason"), message.get("confirm"))
    elif message.get("type") == "reset_breaker":
        hub.reset_breaker(link)
    else:
        link.send({"type": "notice", "level": "error", "text": f"unknown message {message.get('type')!r}"})
