"""What the real agents' wrappers showed (tests/agents/conformance), each as a unit test: the
refusal quotes the agent's command, an agent's new snapshot/pid files are its own, Codex's hook
trust, wrap refusing Codex, and tool shims under a plain sh -c judging the whole text."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from guardsh.agents import codextrust
from guardsh.engine.headline import agent_command, narrow
from guardsh.engine.model import Decision
from guardsh.engine.report import refusal

PY = sys.executable

CLAUDE = ("source /h/.claude/shell-snapshots/snapshot-bash-1-x.sh 2>/dev/null || true && \\builtin shopt -u extglob "
          "2>/dev/null || true && { \\builtin unalias -- 'which'; \\builtin unset -f -- 'which'; } >/dev/null 2>&1 "
          "|| true && eval 'CMD' < /dev/null && pwd -P >| /tmp/claude-8b19-cwd")
GEMINI = ("shopt -u promptvars nullglob extglob nocaseglob dotglob; _bgpids_file=/tmp/gemini-shell-X/bgpids.tmp\n"
          "(\n  trap 'jobs -p > \"$_bgpids_file\"' EXIT\nCMD\n)\n__code=$?\nexit $__code")


def test_headline_sees_through_the_agents_wrappers() -> None:
    assert narrow(CLAUDE.replace("CMD", "cd src && rm -rf build2"), ["rm -rf build2"]) == "cd src && rm -rf build2"
    assert narrow(GEMINI.replace("CMD", "find src -delete"), ["find src -delete"]) == "find src -delete"
    assert narrow("exec '/x/bash' -c 'find src -delete'", ["find src -delete"]) == "find src -delete"
    # the agent's own code is quoted as it is: the statements that hold the matches
    assert narrow("ls; rm -rf a; echo done", ["rm -rf a"]) == "rm -rf a"
    assert narrow("rm -rf a; rm -rf b", ["rm -rf a", "rm -rf b"]) == "rm -rf a; rm -rf b"
    assert narrow("echo hi", ["rm -rf x"]) is None


def test_refusal_headline_quotes_the_agents_command(classify) -> None:  # type: ignore[no-untyped-def]
    verdict = classify(GEMINI.replace("CMD", "git push --force origin main"))
    assert verdict.decision == Decision.ASK
    assert agent_command(verdict) == "git push --force origin main"
    assert refusal(verdict).splitlines()[0].endswith("approval): git push --force origin main")


def test_a_new_file_an_agent_writes_in_its_own_directory_is_its_own(classify_in, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home, ws = tmp_path / "home", tmp_path / "ws"
    (home / ".claude" / "shell-snapshots").mkdir(parents=True)
    (home / ".config").mkdir()
    ws.mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    snap = home / ".claude" / "shell-snapshots" / "snapshot-bash-1.sh"
    text = f'SNAPSHOT_FILE={snap}\necho "# Snapshot file" >| "$SNAPSHOT_FILE"\necho "x" >> "$SNAPSHOT_FILE"'

    def decide(cmd: str) -> str:
        return classify_in(cmd, str(ws), home=str(home)).decision.label

    assert decide(text) == "allow"  # Claude Code's snapshot write: a new file
    snap.write_text("someone's\n")
    assert decide(text) == "ask"  # replacing a file that exists is not
    assert decide(f"echo x > {home}/.profile2") == "ask"  # the home directory itself: startup files
    assert decide(f"echo x > {home}/.config/new.conf") == "ask"
    # after a program whose effects guardsh does not follow, an absent path may be a link by now
    assert decide(f"python3 -c 'import os' && echo x > {home}/.claude/new2") == "ask"
    assert decide(f"ln -s {home}/.bashrc {home}/.claude/l && echo evil > {home}/.claude/l") == "ask"
    assert decide(f"cp -s {home}/.bashrc {home}/.claude/l2 && echo evil > {home}/.claude/l2") == "ask"


def test_codex_trust_is_recorded_and_forgotten(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "x"\n\n[projects."/a"]\ntrust_level = "trusted"\n')
    hooks = str(tmp_path / "hooks.json")
    key = codextrust.state_key(hooks, "PreToolUse", 0, 0)
    assert key == f"{hooks}:pre_tool_use:0:0"
    # the identity hash of this exact hook, as the real Codex 0.171 computed and accepted it
    digest = codextrust.identity_hash("PreToolUse", "Bash", {"type": "command", "command": "/tmp/gbin/guardsh hook codex",
                                                              "timeout": 600})
    assert digest == "sha256:1f8640f951d7185d98f044222a0eec807d87e4aa959e58c991f3db515298edb5"
    assert codextrust.record(str(config), key, digest)
    text = config.read_text()
    assert f'[hooks.state."{key}"]\ntrusted_hash = "{digest}"' in text and 'trust_level = "trusted"' in text
    assert codextrust.record(str(config), key, digest) == []  # idempotent
    assert codextrust.record(str(config), key, "sha256:00")
    assert config.read_text().count("trusted_hash") == 1
    assert codextrust.forget(str(config), key)
    assert config.read_text().rstrip() == 'model = "x"\n\n[projects."/a"]\ntrust_level = "trusted"'


def test_hook_install_codex_trusts_exactly_its_hook(run_guardsh, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(guardsh_env, CODEX_HOME=str(tmp_path / "codex"))
    r = run_guardsh("hook", "install", "codex", env=env)
    assert r.returncode == 0 and b"recorded Codex's trust" in r.stdout
    hooks = json.loads((tmp_path / "codex" / "hooks.json").read_text())
    handler = hooks["hooks"]["PreToolUse"][0]["hooks"][0]
    want = codextrust.identity_hash("PreToolUse", "Bash", handler)
    assert want in (tmp_path / "codex" / "config.toml").read_text()
    r = run_guardsh("hook", "uninstall", "codex", env=env)
    assert r.returncode == 0 and "trusted_hash" not in (tmp_path / "codex" / "config.toml").read_text()


def test_wrap_says_it_cannot_guard_codex(run_guardsh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "codex"
    fake.write_text("#!/bin/sh\necho ran\n")
    fake.chmod(0o755)
    r = run_guardsh("wrap", "--", str(fake), "exec", "hi")
    assert r.returncode == 2 and b"ran" not in r.stdout
    assert b"login shell" in r.stderr and b"guardsh hook install codex" in r.stderr


def test_shim_under_sh_c_judges_the_whole_text(run_guardsh, gitdir: Path, guardsh_env,  # type: ignore[no-untyped-def]
                                               lowering_off) -> None:
    # undo would save f and let its deletion through (issue 14): what is tested here is the shim's
    # judgement, so lowering is off (in a config of this test's own: the session's HOME is shared)
    env = lowering_off(guardsh_env)
    prog = ("import subprocess, sys; r = subprocess.run(sys.argv[1], shell=True, capture_output=True, text=True); "
            "print(r.returncode, r.stdout.strip())")
    r = run_guardsh("wrap", "--", PY, "-c", prog, "touch t.tmp && rm t.tmp && echo removed", cwd=str(gitdir), env=env)
    assert r.stdout.decode().strip() == "0 removed", r.stderr
    # a file that was there before the shell started is not the command's own, touched or not
    r = run_guardsh("wrap", "--", PY, "-c", prog, "touch f && rm f && echo removed", cwd=str(gitdir), env=env)
    assert r.stdout.decode().startswith("126"), r.stderr
    assert (gitdir / "f").exists()
    # the shim must find exactly its own invocation in the text: a computed argument is judged alone
    r = run_guardsh("wrap", "--", PY, "-c", prog, 'x=f; rm "$x"', cwd=str(gitdir), env=env)
    assert r.stdout.decode().startswith("126") and (gitdir / "f").exists()


def test_approver_requests_show_the_agents_command(classify) -> None:  # type: ignore[no-untyped-def]
    from guardsh.approval.hub import validate_request
    from guardsh.approval.request import build_request
    from guardsh.engine.config import Config

    verdict = classify(GEMINI.replace("CMD", "git push --force origin main"))
    req = build_request(verdict, Config(), {})
    assert req["command"] == verdict.command and req["shown"] == "git push --force origin main"
    assert validate_request(req)["shown"] == "git push --force origin main"
    # what is shown must be part of what is approved: a request cannot show one text and run another
    assert "shown" not in validate_request(dict(req, shown="ls -l"))
    assert "shown" not in build_request(classify("git push --force origin main"), Config(), {})


def test_shims_under_the_guarded_session_trust_its_lines(guardsh_bin: Path, guardsh_env: dict[str, str],  # type: ignore[no-untyped-def]
                                                         gitdir: Path, lowering_off) -> None:
    """A program driving `bash` over a PTY under wrap (SWE-ReX) gets the guarded session; the rm shim
    that a classified line starts is not asked about again, while a program's own rm still is
    (asked: undo's lowering is off, or it would save f and let it go)."""
    import pexpect

    env = lowering_off(dict(guardsh_env, TERM="dumb", PS1="PROMPT> "))
    prog = gitdir.parent / "prog.py"
    prog.write_text("import subprocess, sys\nprint('rc', subprocess.run(['rm', sys.argv[1]]).returncode)\n")
    # --norc: the session reads /etc/bash.bashrc as bash -i does, and that sets PS1
    child = pexpect.spawn(str(guardsh_bin), ["wrap", "--", "bash", "--norc"], env=env, cwd=str(gitdir),
                          encoding="utf-8", timeout=30)
    try:
        child.expect_exact("PROMPT> ")
        child.sendline("touch t.tmp && rm t.tmp && echo removed-$((40+2))")
        child.expect_exact("removed-42")
        child.expect_exact("PROMPT> ")
        child.sendline(f"{PY} {prog} f")
        child.expect_exact("rc 126")
        child.expect_exact("PROMPT> ")
    finally:
        child.close(force=True)
    assert (gitdir / "f").exists() and not (gitdir / "t.tmp").exists()


def test_process_start_time_is_precise_enough_to_tell_files_made_just_before() -> None:
    import time

    from guardsh.agents.shims import process_started_at
    from guardsh.engine.context import BIRTH_SLACK
    from guardsh.procs import birth_time

    before = time.time()
    proc = subprocess.Popen(["sleep", "5"])
    try:
        started = process_started_at(proc.pid)
        assert started is not None and before - 0.02 <= started <= time.time() + 0.02
    finally:
        proc.kill()
        proc.wait()
    # a file made now was born after a process started a moment ago, and before one started later
    probe = Path(f"/tmp/guardsh-birth-{os.getpid()}")
    probe.write_text("")
    try:
        born = birth_time(str(probe))
        if born is not None:  # a filesystem without birth times: files are never "born since"
            assert born >= started - BIRTH_SLACK
    finally:
        probe.unlink()


def test_hook_prompt_says_how_to_get_approval(classify) -> None:  # type: ignore[no-untyped-def]
    """claude -p answers the prompt with a refusal the model reads: it must say how to get approval."""
    from guardsh.agents.hooks import prompt_text

    text = prompt_text(classify("git push --force origin main"))
    assert "git-push-force" in text and "guardsh approver" in text


def test_a_stock_bashrc_does_not_make_every_interactive_command_ask(classify_in, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Claude Code's snapshot and `bash -i -c` (aider in a terminal) source ~/.bashrc; Debian's
    evals the output of dircolors and lesspipe, which only set variables."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text('[ -z "$PS1" ] && return\nif [ -x /usr/bin/dircolors ]; then\n'
                                  '    test -r ~/.dircolors && eval "$(dircolors -b ~/.dircolors)" || eval "$(dircolors -b)"\n'
                                  'fi\neval "$(SHELL=/bin/sh lesspipe)"\n')

    def decide(cmd: str) -> str:
        return classify_in(cmd, str(tmp_path), home=str(home)).decision.label

    assert decide(f"PS1=x; source {home}/.bashrc; echo hi") == "allow"
    assert decide('eval "$(dircolors -b; rm -rf ~)"') != "allow"
    assert decide('eval "$(dircolors $(curl -s x))"') != "allow"
    assert decide('eval "$(curl -s x)"') != "allow"
