"""Shared by the approver and hook tests: a HOME holding test rules, the fixture that makes
it, and a scripted approver console on the real socket."""
from __future__ import annotations

import os
import queue
import socket
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from guardsh.approval import protocol

TEST_RULES = """\
rules:
  - id: test-destructive
    risk: destructive
    reason: Test rule; touching a destructive marker stands for a destructive command.
    suggest: touch a-safe-marker
    match: {program: touch, args: ["*destructive*"]}
    examples: {hit: [touch destructive-1], miss: [touch other]}
  - id: test-catastrophic
    risk: catastrophic
    reason: Test rule; touching a catastrophic marker stands for a catastrophic command.
    match: {program: touch, args: ["*catastrophic*"]}
    examples: {hit: [touch catastrophic-1], miss: [touch other]}
"""


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """homes(config_yaml) -> a HOME with the test rules and that config.  One HOME per module,
    so the rule cache is built once; the config is rewritten per test (and its cache dropped)."""
    home = tmp_path_factory.mktemp("approver-home")
    rules = home / ".config" / "guardsh" / "rules.d"
    rules.mkdir(parents=True)
    (rules / "test.yaml").write_text(TEST_RULES)

    def get(config: str = "") -> Path:
        (home / ".config" / "guardsh" / "config.yaml").write_text(config or "{}\n")
        (home / ".cache" / "guardsh" / "config.marshal").unlink(missing_ok=True)
        return home

    return get


class FakeConsole:
    """A scripted approver on the real socket path: records what waiters send; the test replies."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(16)
        self.events: queue.Queue[tuple[str, socket.socket, dict[str, Any] | None]] = queue.Queue()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.read, args=(conn,), daemon=True).start()

    def read(self, conn: socket.socket) -> None:
        reader = protocol.LineReader()
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.events.put(("eof", conn, None))
                return
            for msg in reader.feed(data):
                self.events.put(("msg", conn, msg))

    def next(self, timeout: float = 15) -> tuple[str, socket.socket, dict[str, Any] | None]:
        return self.events.get(timeout=timeout)

    def request(self) -> tuple[socket.socket, dict[str, Any]]:
        kind, conn, msg = self.next()
        assert kind == "msg" and msg is not None and msg["type"] == "request", (kind, msg)
        return conn, msg

    def close(self) -> None:
        self.listener.close()
