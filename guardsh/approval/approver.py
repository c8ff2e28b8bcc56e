"""``guardsh approver``: start the console in the human's own terminal (never from an agent's command)."""
from __future__ import annotations

import asyncio
import os
import pwd
import sys

from guardsh.approval import protocol
from guardsh.approval.hub import Hub, console_name, decisions_log_path, one_line, send_message
from guardsh.approval.server import Messages, Server, handle_console_message
from guardsh.engine.config import Config
from guardsh.procs import guarded_ancestor

USAGE_NOTE = """Run this in a terminal of your own, not in the agent's. Commands that need approval wait here;
y approves once, n denies (with an optional reason the agent sees), a allows that exact command
in that directory for the rest of the session. A second `guardsh approver` started while this one
runs attaches as a second console (catastrophic commands need approvals from two consoles)."""




def main(args: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="guardsh approver", description="Approve or deny the commands that guardsh holds "
                                "for a human.", epilog=USAGE_NOTE)
    p.add_argument("--name", help="how this console signs its decisions (default: user@terminal)")
    p.add_argument("--agent-user", action="append", default=[], metavar="USER",
                   help="also take requests from agents running as USER, on a request-only socket in "
                        "/tmp/guardsh-requests-UID/ (repeatable; see the README's threat model)")
    opts = p.parse_args(args)
    err = sys.stderr.write
    if not (os.isatty(0) and os.isatty(1)):
        err("guardsh approver: needs a terminal; run it in a terminal of your own (not the agent's)\n")
        return 2
    if guarded_ancestor(os.getpid()) is not None:
        err("guardsh approver: refused: this was started by a command that guardsh ran (an agent's shell).\n"
            "guardsh approver: approvals come from the human's own terminal; ask the user to start it there.\n")
        return 2
    from guardsh.engine.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as e:
        err(f"guardsh approver: the config failed to load:\n{e}\n")
        return 2
    agent_uids = []
    for user in opts.agent_user:
        try:
            agent_uids.append(int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid)
        except KeyError:
            err(f"guardsh approver: no such user {user!r}\n")
            return 2
    if os.getuid() in agent_uids:
        err("guardsh approver: --agent-user must be another user than the one running the console\n")
        return 2
    directory = protocol.socket_dir()
    try:
        protocol.ensure_dir(directory)
        if agent_uids:
            protocol.ensure_dir(protocol.agent_socket_dir(), private=False)
    except (protocol.ProtocolError, OSError) as e:
        err(f"guardsh approver: cannot use the socket directory: {e}\n")
        return 2
    import fcntl

    lock = os.open(os.path.join(directory, protocol.LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        primary = True
    except BlockingIOError:
        primary = False
    name = one_line(opts.name, 60) if opts.name else console_name()
    if primary and agent_uids:
        agent_lock = os.open(os.path.join(protocol.agent_socket_dir(), protocol.LOCK_NAME),
                             os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(agent_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process exits
        except BlockingIOError:
            err(f"guardsh approver: another console already serves agents on {protocol.agent_socket_dir()}\n")
            return 2
    try:
        if primary:
            return asyncio.run(run_primary(config, directory, name, tuple(agent_uids)))
        if agent_uids:
            err("guardsh approver: --agent-user applies to the first console only\n")
            return 2
        return asyncio.run(run_secondary(directory, name))
    finally:
        os.close(lock)


async def run_primary(config: Config, directory: str, name: str, agent_uids: tuple[int, ...]) -> int:
    from guardsh.approval.console import ConsoleUI, run_ui

    hub = Hub(config, decisions_log_path())
    server = Server(hub, agent_uids)
    path = os.path.join(directory, protocol.SOCKET_NAME)
    agent_path = None
    if agent_uids:
        agent_path = os.path.join(protocol.agent_socket_dir(), protocol.AGENT_SOCKET_NAME)
    await server.start(path, agent_path)
    ui = ConsoleUI(name, path, primary=True)
    link = hub.attach(name, ui.on_event)
    ui.send = lambda message: handle_console_message(hub, link, message)
    ui.breaker = hub.breaker_view()
    ui.say([("class:label", f"guardsh approver: listening on {path}"),
            ("", f" as {name}" + (f"; agents running as uid {', '.join(map(str, agent_uids))} use {agent_path}"
                                 if agent_path else ""))])
    ui.say([("class:dim", "Decisions are logged to " + (hub.log_path or "?"))])

    async def housekeeping() -> None:
        while True:
            await asyncio.sleep(1.0)
            hub.expire_deferred()

    task = asyncio.get_running_loop().create_task(housekeeping())
    try:
        return await run_ui(ui)
    finally:
        task.cancel()
        server.close()


async def run_secondary(directory: str, name: str) -> int:
    from guardsh.approval.console import ConsoleUI, run_ui

    path = os.path.join(directory, protocol.SOCKET_NAME)
    try:
        sock = protocol.connect(path, os.getuid())
    except (OSError, protocol.ProtocolError) as e:
        sys.stderr.write(f"guardsh approver: another console holds the lock but cannot be reached ({e})\n")
        return 2
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=protocol.MAX_LINE + 1)
    ui = ConsoleUI(name, path, primary=False)
    ui.send = lambda message: send_message(writer, message)
    send_message(writer, {"type": "console", "v": protocol.VERSION, "name": name})
    messages = Messages(reader)

    async def pump() -> None:
        try:
            while True:
                event = await messages.next()
                if event is None:
                    break
                ui.on_event(event)
        except (protocol.ProtocolError, ConnectionError, OSError):
            pass
        ui.say([("class:bad", "the first console closed: this console stops (start guardsh approver again)")])
        ui.closed = True
        if ui.app.is_running:
            ui.app.exit(result=1)

    ui.say([("class:label", f"guardsh approver: attached to the console on {path}"), ("", f" as {name}")])
    task = asyncio.get_running_loop().create_task(pump())
    try:
        return await run_ui(ui)
    finally:
        task.cancel()
        writer.close()
