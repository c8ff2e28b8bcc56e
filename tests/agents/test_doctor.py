"""guardsh doctor: installed agents, how each is guarded, approver, rules and audit log, with fixes."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path


def fake_agent(bindir: Path, name: str) -> None:
    bindir.mkdir(exist_ok=True)
    p = bindir / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(0o755)


def doctor(run_guardsh, env: dict[str, str]) -> tuple[int, dict]:  # type: ignore[no-untyped-def, type-arg]
    r = run_guardsh("doctor", "--json", env=env)
    return r.returncode, json.loads(r.stdout)


def test_doctor_reports_agents_hooks_and_codex_trust(run_guardsh, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bindir = tmp_path / "bin"
    for name in ("claude", "codex"):
        fake_agent(bindir, name)
    env = dict(guardsh_env, PATH=f"{bindir}:/usr/bin:/bin", CODEX_HOME=str(tmp_path / "codex"), SHELL="/bin/bash")
    env.pop("CLAUDE_CODE_SHELL", None)
    code, data = doctor(run_guardsh, env)
    agents = {a["agent"]: a for a in data["agents"]}
    assert code == 1
    assert agents["claude-code"]["installed"] and agents["claude-code"]["guarded_by"] == []
    assert "guardsh hook install claude-code" in agents["claude-code"]["fixes"][0]
    assert "wrap cannot guard Codex" in agents["codex"]["fixes"][0]
    assert not agents["gemini"]["installed"] and agents["gemini"]["fixes"] == []
    assert data["rules"]["ok"] and data["audit"]["ok"]
    assert not data["approver"]["reachable"] and "guardsh approver" in data["approver"]["fix"]

    assert run_guardsh("hook", "install", "codex", env=env).returncode == 0
    assert run_guardsh("hook", "install", "claude-code", env=env).returncode == 0
    _, data = doctor(run_guardsh, env)
    agents = {a["agent"]: a for a in data["agents"]}
    assert agents["codex"]["guarded_by"] == ["hook"] and agents["codex"]["hook"]["trusted"]
    assert agents["claude-code"]["guarded_by"] == ["hook"]

    # a hook Codex does not trust guards nothing in codex exec: doctor says so, and how to fix it
    config = tmp_path / "codex" / "config.toml"
    config.write_text(re.sub(r'trusted_hash = "[^"]*"', 'trusted_hash = "sha256:0"', config.read_text()))
    _, data = doctor(run_guardsh, env)
    codex = next(a for a in data["agents"] if a["agent"] == "codex")
    assert codex["guarded_by"] == [] and any("does not trust it" in f for f in codex["fixes"])


def test_doctor_text_names_each_gap_with_its_fix(run_guardsh, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bindir = tmp_path / "bin"
    fake_agent(bindir, "gemini")
    env = dict(guardsh_env, PATH=f"{bindir}:/usr/bin:/bin")
    r = run_guardsh("doctor", env=env)
    out = r.stdout.decode()
    assert r.returncode == 1
    assert re.search(r"Gemini CLI .*gemini: NOT GUARDED", out) and "fix: guardsh hook install gemini" in out
    assert "approver     not running" in out and "rules        load" in out
    # an unwritable audit log is a gap with its fix
    cfg = Path(env["HOME"]) / ".config" / "guardsh"
    cfg.mkdir(parents=True, exist_ok=True)
    (tmp_path / "a-file").write_text("")
    (cfg / "config.yaml").write_text(f"audit_log: {tmp_path}/a-file/audit.jsonl\n")
    try:
        r = run_guardsh("doctor", "--json", env=env)
        data = json.loads(r.stdout)
        assert not data["audit"]["ok"] and "audit_log" in data["audit"]["fix"]
    finally:
        os.unlink(cfg / "config.yaml")
