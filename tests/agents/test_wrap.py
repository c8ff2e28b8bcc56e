"""guardsh wrap: an agent's shells and high-risk tools are guardsh; shims run the real tool."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from guardsh.agents.shims import WRAP_SHIMS

PY = sys.executable  # an absolute interpreter: a pyenv shim on PATH is itself a bash script


def wrap_dir_of(out: str) -> Path:
    shell = out.splitlines()[0]
    assert shell.endswith("/bash"), out
    return Path(shell).parent


def test_wrap_points_shells_and_tools_at_guardsh(run_guardsh, guardsh_bin: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_guardsh("wrap", "--", "sh", "-c", 'echo $SHELL; command -v rm kubectl; echo "$CLAUDE_CODE_SHELL"; echo "$PATH"')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    d = wrap_dir_of(r.stdout.decode())
    assert lines[1:4] == [str(d / "rm"), str(d / "kubectl"), str(d / "bash")]
    assert lines[4].split(":")[0] == str(d)
    assert "bash" in lines[0]
    assert (os.stat(d).st_mode & 0o777) == 0o700 and os.stat(d).st_uid == os.getuid()
    for name in ("bash", "sh") + WRAP_SHIMS:
        assert os.readlink(d / name) == str(guardsh_bin)


def test_wrap_without_a_program_is_a_usage_error(run_guardsh) -> None:  # type: ignore[no-untyped-def]
    r = run_guardsh("wrap")
    assert r.returncode == 2 and b"usage: guardsh wrap" in r.stderr
    r = run_guardsh("wrap", "--", "no-such-program-guardsh-test")
    assert r.returncode == 127


def test_direct_exec_of_rm_is_classified_and_refused(run_guardsh, tmp_path: Path, guardsh_env,  # type: ignore[no-untyped-def]
                                                     lowering_off) -> None:
    target = tmp_path / "precious"
    (target / "sub").mkdir(parents=True)
    prog = ("import subprocess, sys; r = subprocess.run(['rm', '-rf', sys.argv[1]]); print('rc', r.returncode)")
    r = run_guardsh("wrap", "--", PY, "-c", prog, str(target), cwd=str(tmp_path), env=lowering_off(guardsh_env))
    assert r.stdout.decode().strip() == "rc 126"
    assert b"refused" in r.stderr and b"rm-files" in r.stderr
    assert (target / "sub").is_dir()  # still there


def test_allowed_tool_runs_the_real_one(run_guardsh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "node_modules" / "x").mkdir(parents=True)  # regenerable: rm -rf is allowed
    prog = ("import subprocess; r = subprocess.run(['rm', '-rf', 'node_modules']); "
            "g = subprocess.run(['git', '--version'], capture_output=True, text=True); print(r.returncode, g.stdout.split()[0])")
    r = run_guardsh("wrap", "--", PY, "-c", prog, cwd=str(tmp_path))
    assert r.stdout.decode().split() == ["0", "git"], r.stderr
    assert not (tmp_path / "node_modules").exists()


def test_direct_exec_of_rm_in_the_workspace_is_saved_first(run_guardsh, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           guardsh_env) -> None:
    """By default (issue 14) the shim saves what rm destroys, and then lets it run."""
    target = tmp_path / "precious"
    (target / "sub").mkdir(parents=True)
    env = dict(guardsh_env, XDG_STATE_HOME=str(tmp_path / "state"))
    prog = ("import subprocess, sys; r = subprocess.run(['rm', '-rf', sys.argv[1]]); print('rc', r.returncode)")
    r = run_guardsh("wrap", "--", PY, "-c", prog, str(target), cwd=str(tmp_path), env=env)
    assert r.stdout.decode().strip() == "rc 0", r.stderr.decode()[:3000]  # whole: why it was not saved
    assert b"guardsh: saved what this command destroys as snapshot" in r.stderr and not target.exists()
    assert run_guardsh("undo", cwd=str(tmp_path), env=env).returncode == 0
    assert (target / "sub").is_dir()


def test_shell_started_by_name_is_guardsh(run_guardsh, tmp_path: Path, guardsh_env,  # type: ignore[no-untyped-def]
                                          lowering_off) -> None:
    (tmp_path / "keep").mkdir()
    prog = "import subprocess; print(subprocess.run(['bash', '-c', 'rm -rf keep']).returncode)"
    r = run_guardsh("wrap", "--", PY, "-c", prog, cwd=str(tmp_path), env=lowering_off(guardsh_env))
    assert r.stdout.decode().strip() == "126"
    assert (tmp_path / "keep").is_dir()


def test_a_shim_never_finds_itself(run_guardsh, guardsh_bin: Path, guardsh_env: dict[str, str],  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    # another link to guardsh named git, and a launcher copy, come before the real git on PATH
    other = tmp_path / "other"
    other.mkdir()
    (other / "git").symlink_to(guardsh_bin)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "git").write_bytes(guardsh_bin.read_bytes())
    (copy / "git").chmod(0o755)
    real = tmp_path / "real"
    real.mkdir()
    (real / "git").write_text("#!/bin/sh\necho real-git \"$@\"\n")
    (real / "git").chmod(0o755)
    env = dict(guardsh_env, PATH=f"{other}:{copy}:{real}:/usr/bin:/bin")
    r = run_guardsh("wrap", "--", PY, "-c", "import subprocess; subprocess.run(['git', 'status'])", env=env)
    assert r.stdout.decode() == "real-git status\n", r.stderr
    # no real tool at all: "not found", not a loop
    env = dict(guardsh_env, PATH=f"{other}:{copy}:/usr/bin:/bin")
    r = run_guardsh("wrap", "--", PY, "-c", "import subprocess; print(subprocess.run(['helm', 'list']).returncode)",
                    env=env)
    assert r.stdout.decode().strip() == "127" and b"helm: command not found" in r.stderr


def test_nested_wrap_keeps_one_directory_first(run_guardsh) -> None:  # type: ignore[no-untyped-def]
    prog = "import os; os.execv(os.environ['GUARDSH_LAUNCHER'], ['guardsh', 'wrap', '--', 'printenv', 'PATH'])"
    r = run_guardsh("wrap", "--", PY, "-c", prog)
    assert r.returncode == 0, r.stderr
    parts = r.stdout.decode().strip().split(":")
    assert parts[0].endswith(os.sep + parts[0].rsplit(os.sep, 1)[1]) and parts.count(parts[0]) == 1


def _audited(state: Path) -> list[dict[str, Any]]:
    log = state / "guardsh" / "audit.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_tool_run_by_a_guarded_bash_is_not_classified_twice(run_guardsh, guardsh_env: dict[str, str],  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = dict(guardsh_env, XDG_STATE_HOME=str(state))
    work = tmp_path / "w"
    (work / "build").mkdir(parents=True)
    # bash (the guardsh link) classifies the whole line; its own children run the real tools
    r = run_guardsh("wrap", "--", "bash", "-c", "cd . && rm -rf build && git --version >/dev/null; echo done",
                    env=env, cwd=str(work))
    assert r.stdout == b"done\n", r.stderr
    commands = [rec.get("command") for rec in _audited(state)]
    assert commands == ["cd . && rm -rf build && git --version >/dev/null; echo done"]
    # a program the guarded bash started (python) is not bash: its tools are classified
    (work / "build").mkdir()
    r = run_guardsh("wrap", "--", "bash", "-c",
                    f"{PY} -c \"import subprocess; subprocess.run(['rm', '-rf', 'build'])\"; echo done",
                    env=env, cwd=str(work))
    assert r.stdout == b"done\n", r.stderr
    commands = [rec.get("command") for rec in _audited(state)]
    assert len(commands) == 3 and commands[2].endswith("rm -rf build") and commands[2].startswith("/")


# Codex is not here: the real Codex takes its shell from /etc/passwd, so wrap refuses to start it
# and names what does guard it (tests/agents/test_plumbing.py, and the conformance suite).
@pytest.mark.parametrize("agent", ["claude", "gemini", "aider", "cline", "agent.py"])
def test_agent_recipes_start_with_guardsh_shell_and_tools(agent: str, run_guardsh, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          guardsh_env: dict[str, str], lowering_off) -> None:
    """Each README recipe, with a stand-in for the agent: which shell and which tools it gets."""
    bindir = tmp_path / "agentbin"
    bindir.mkdir()
    stand_in = bindir / agent
    # what each agent does to run a command: Claude Code runs $CLAUDE_CODE_SHELL -c, Codex
    # `bash -lc`, Gemini CLI `bash -c` from PATH, Aider and Cline $SHELL, a Python agent
    # subprocess with and without shell=True
    how = {
        "claude": "[os.environ['CLAUDE_CODE_SHELL'], '-c', CMD]",
        "codex": "['bash', '-lc', CMD]",
        "gemini": "['bash', '-c', CMD]",
        "aider": "[os.environ['SHELL'], '-c', CMD]",
        "cline": "[os.environ['SHELL'], '-c', CMD]",
        "agent.py": "CMD",
    }[agent]
    shell_kw = ", shell=True" if agent == "agent.py" else ""
    stand_in.write_text(
        f"#!{PY}\n"
        "import os, subprocess\n"
        "print('SHELL', os.environ['SHELL'])\n"
        "CMD = 'for t in rm git kubectl; do command -v $t; done'\n"
        f"out = subprocess.run({how}, capture_output=True, text=True{shell_kw})\n"
        "print(out.stdout, end='')\n"
        "CMD = 'rm -rf keep'\n"
        f"print('shell', subprocess.run({how}, stderr=subprocess.DEVNULL{shell_kw}).returncode)\n"
        "print('direct', subprocess.run(['rm', '-rf', 'keep'], stderr=subprocess.DEVNULL).returncode)\n"
    )
    stand_in.chmod(0o755)
    work = tmp_path / "work"
    (work / "keep").mkdir(parents=True)
    env = dict(lowering_off(guardsh_env), PATH=f"{bindir}:{guardsh_env['PATH']}")
    r = run_guardsh("wrap", "--", agent, env=env, cwd=str(work))
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("SHELL "), r.stderr
    d = Path(lines[0].split()[1]).parent
    tools = [str(d / "rm"), str(d / "git"), str(d / "kubectl")]
    if agent == "codex" and lines[1:4] != tools:
        # `bash -lc`: a login shell's /etc/profile may reset PATH (Debian does for root); the
        # command line is still classified whole by the guardsh shell, only the shims are lost
        assert [os.path.basename(t) for t in lines[1:4]] == ["rm", "git", "kubectl"]
        tools = lines[1:4]
    assert lines == [f"SHELL {d / 'bash'}", *tools, "shell 126", "direct 126"], r.stderr
    assert (work / "keep").is_dir()
