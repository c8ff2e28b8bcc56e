"""The approver console shows a request's blast radius, checked in real PTYs (pexpect): a real
``guardsh approver`` and a real ``guardsh -c`` waiting on it, with the fake kubectl of
tests/helpers/fakebin/ (it stands for kubectl and implements only --dry-run=server -o name).
The fake blocks on a FIFO until the test has seen "previewing…", so nothing here sleeps."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pexpect
import pytest

from approvehome import homes  # noqa: F401  (homes is a fixture)

FAKEBIN = Path(__file__).resolve().parents[1] / "helpers" / "fakebin"


@pytest.fixture()
def setup(homes, guardsh_env, guardsh_bin, tmp_path):  # type: ignore[no-untyped-def]
    home = homes("circuit_breaker: {max: 0}\n")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    work = tmp_path / "work"
    (work / "k8s").mkdir(parents=True)
    (work / "k8s" / "app.yaml").write_text("kind: Deployment\nmetadata:\n  name: web\n---\n"
                                           "kind: Service\nmetadata:\n  name: web\n")
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    env = dict(guardsh_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_RUNTIME_DIR=str(run), TERM="xterm", LANG="C.UTF-8", CLAUDECODE="1", PROMPT_TOOLKIT_NO_CPR="1",
               PATH=f"{FAKEBIN}:{guardsh_env.get('PATH', '/usr/bin:/bin')}")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "CODEX_THREAD_ID", "GEMINI_CLI", "KUBECONFIG"):
        env.pop(var, None)
    console = pexpect.spawn(str(guardsh_bin), ["approver"], env=env | {"KUBECONFIG": str(tmp_path / "approver-kc")},
                            dimensions=(70, 220), encoding="utf-8", codec_errors="replace", timeout=30)
    console.expect_exact("listening on")
    agent_env = env | {"KUBECONFIG": str(tmp_path / "agent-kc"), "FAKE_BLOCK": str(fifo),
                       "FAKE_LOG": str(tmp_path / "fake.log")}
    spawned: list[Any] = [console]

    def agent(command: str) -> pexpect.spawn:
        a = pexpect.spawn(str(guardsh_bin), ["-c", command], env=agent_env, cwd=str(work), dimensions=(40, 300),
                          encoding="utf-8", codec_errors="replace", timeout=30)
        spawned.append(a)
        return a

    yield console, agent, fifo, tmp_path
    for child in spawned:
        if child.isalive():
            child.kill(signal.SIGTERM)
            try:
                child.expect(pexpect.EOF, timeout=5)
            except pexpect.TIMEOUT:
                pass
        child.close(force=True)


def test_console_shows_previewing_then_the_preview_and_the_audit_keeps_it(setup) -> None:  # type: ignore[no-untyped-def]
    console, agent, fifo, tmp = setup
    a = agent("kubectl delete -f k8s/")
    a.expect_exact("waiting for approval on the approver console (request 1")  # the request did not wait for it
    console.expect_exact("request 1 waiting")
    console.expect_exact("previewing…")
    with open(fifo, "w") as f:  # let the fake kubectl answer its dry run
        f.write("go\n")
    console.expect_exact("request 1 previewed")
    console.expect_exact("3 objects (")
    console.expect_exact("deployment/web")
    console.expect_exact("service/web")
    console.expect_exact("configmap/cluster-from-agent-kc")  # the requester's environment, not the approver's
    calls = [json.loads(line) for line in (tmp / "fake.log").read_text().splitlines()]
    assert calls == [{"tool": "kubectl", "argv": ["delete", "-f", "k8s/", "--dry-run=server", "-o", "name"],
                      "cwd": str(tmp / "work"), "KUBECONFIG": str(tmp / "agent-kc"), "AWS_PROFILE": None}]
    console.send("n")
    console.expect_exact("reason for the agent")
    console.send("\r")
    console.expect_exact("request 1 denied by")
    a.expect(pexpect.EOF)
    a.wait()
    assert a.exitstatus == 126
    records = [json.loads(line) for line in (tmp / "state" / "guardsh" / "audit.jsonl").read_text().splitlines()]
    mine = [r for r in records if r["command"] == "kubectl delete -f k8s/"]
    assert mine and mine[-1]["outcome"] == "refused"
    assert any("3 objects" in line for line in mine[-1]["preview"]), mine[-1]
    from guardsh.audit.logcmd import format_record

    assert "    | preview of: kubectl delete -f k8s/" in format_record(mine[-1])
    decisions = [json.loads(line) for line in (tmp / "state" / "guardsh" / "approvals.jsonl").read_text().splitlines()]
    assert any("3 objects" in line for line in decisions[-1]["preview"])
    assert [json.loads(line)["argv"] for line in (tmp / "fake.log").read_text().splitlines()] == [calls[0]["argv"]]
