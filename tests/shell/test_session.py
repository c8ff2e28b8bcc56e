"""The interactive guarded session, end to end in pseudo-terminals (pexpect): wait on output, never sleep."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pexpect
import pytest

PROMPT = "GS-PROMPT> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]")


def spawn(guardsh_bin: Path, env: dict[str, str], cwd: Path, editor: bool = False,
          dims: tuple[int, int] = (24, 80), args: tuple[str, ...] = ("--norc",)) -> pexpect.spawn:
    """guardsh on a terminal, prompting with PS1 from the environment: as bash, it reads no rc
    file (/etc/bash.bashrc sets PS1) only with --norc."""
    env = dict(env)
    if editor:
        env.update(TERM="xterm")
        env.pop("PROMPT_TOOLKIT_NO_CPR", None)
    else:
        env["TERM"] = "dumb"
    env.pop("PROMPT_COMMAND", None)
    env["PS1"] = PROMPT
    child = pexpect.spawn(str(guardsh_bin), list(args), env=env, cwd=str(cwd), encoding="utf-8",
                          timeout=20, dimensions=dims)
    return child


@pytest.fixture()
def session_env(guardsh_env: dict[str, str], tmp_path: Path, lowering_off) -> dict[str, str]:  # type: ignore[no-untyped-def]
    # rm -rf DIR in the workspace asks here, as these tests need: saved deletions (issue 14) have a test of their own
    env = dict(lowering_off(guardsh_env), XDG_STATE_HOME=str(tmp_path / "state"))
    return env


def test_a_saved_deletion_runs_and_can_be_undone(guardsh_bin: Path, guardsh_env: dict[str, str],
                                                tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "keep").mkdir(parents=True)
    (work / "keep" / "f").write_bytes(b"mine\n")
    child = spawn(guardsh_bin, dict(guardsh_env, XDG_STATE_HOME=str(tmp_path / "state")), work)
    child.expect_exact(PROMPT)
    out = run(child, "rm -rf keep")
    assert "guardsh: saved what this command destroys as snapshot" in out and not (work / "keep").exists()
    assert "put back" in run(child, f"{guardsh_bin} undo")
    assert (work / "keep" / "f").read_bytes() == b"mine\n"
    child.close(force=True)


@pytest.fixture()
def plain(guardsh_bin: Path, session_env: dict[str, str], tmp_path: Path) -> Iterator[pexpect.spawn]:
    work = tmp_path / "work"
    work.mkdir()
    child = spawn(guardsh_bin, session_env, work)
    child.expect_exact(PROMPT)
    yield child
    child.close(force=True)


def run(child: pexpect.spawn, line: str) -> str:
    """Send one line, return what came before the next prompt (without the echoed line)."""
    child.sendline(line)
    child.expect_exact(PROMPT)
    out = child.before.replace("\r\n", "\n")
    first, _, rest = out.partition("\n")
    return rest if first.strip() == line.strip() else out


def test_state_persists_across_lines(plain: pexpect.spawn, tmp_path: Path) -> None:
    (tmp_path / "work" / "sub").mkdir()
    run(plain, "cd sub && export GS_VAR=hello && greet() { echo \"hi $1\"; } && alias ll='echo aliased'")
    assert run(plain, "pwd; echo $GS_VAR; greet you; ll").split("\n")[:4] == [
        str(tmp_path / "work" / "sub"), "hello", "hi you", "aliased"]
    run(plain, "false")
    assert run(plain, "echo $?").strip() == "1"
    assert run(plain, "echo $0 $-").strip().split()[0] == "bash" and "i" in run(plain, "echo $-")
    # a here-doc typed over several lines
    plain.sendline("cat <<EOF")
    plain.sendline("line one")
    plain.sendline("EOF")
    plain.expect_exact(PROMPT)
    assert "line one" in plain.before
    plain.sendline("exit 7")
    plain.expect(pexpect.EOF)
    plain.close()
    assert plain.exitstatus == 7


def test_a_refused_line_never_reaches_bash(plain: pexpect.spawn, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "keep" / "inner").mkdir(parents=True)
    out = run(plain, "touch reached && rm -rf keep")
    assert "guardsh: refused (destructive" in out
    assert not (work / "reached").exists() and (work / "keep" / "inner").is_dir()
    assert run(plain, "echo $?").strip() == "126"
    assert run(plain, "echo still here").strip() == "still here"
    audit = (tmp_path / "state" / "guardsh" / "audit.jsonl").read_text()
    assert "touch reached && rm -rf keep" in audit and '"refused"' in audit


def test_definitions_carry_over_to_later_lines(plain: pexpect.spawn, tmp_path: Path) -> None:
    """Issue 12: a function or alias defined on one line is classified where a later line uses it,
    with the variables the shell has then."""
    work = tmp_path / "work"
    (work / "keep").mkdir()
    (work / "build").mkdir()
    assert "refused" not in run(plain, "nuke() { rm -rf \"$1\"; }; alias zap='rm -rf'; T=build")
    out = run(plain, "nuke keep")
    assert "guardsh: refused (destructive" in out and (work / "keep").is_dir()
    out = run(plain, "zap keep")
    assert "guardsh: refused (destructive" in out and (work / "keep").is_dir()
    assert "refused" not in run(plain, 'nuke "$T"')  # the shell's own variable: build, regenerable
    assert not (work / "build").exists() and (work / "keep").is_dir()


BLOCKER = f"{sys.executable} -c \"import time; print('blocking', flush=True); time.sleep(60)\""


def test_ctrl_c_interrupts_the_command_and_the_session_survives(plain: pexpect.spawn) -> None:
    # "blocking" is printed by the process that then sleeps: it is the terminal's foreground job
    plain.sendline(BLOCKER)
    plain.expect_exact("\r\nblocking\r\n")
    plain.sendintr()
    plain.expect_exact(PROMPT)
    assert run(plain, "echo $?").strip() == "130"
    # inside a list: the session survives too (bash reading from guardsh's pipe goes on with the list)
    plain.sendline(f"echo before; {BLOCKER}; echo list-went-on")
    plain.expect_exact("\r\nblocking\r\n")
    plain.sendintr()
    plain.expect_exact(PROMPT)
    assert run(plain, "echo alive").strip() == "alive"
    # Ctrl-C at the prompt drops the line, as in bash
    plain.send("echo half-typed")
    plain.sendintr()
    plain.expect_exact(PROMPT)
    assert run(plain, "echo $?; echo alive").split() == ["130", "alive"]


def test_full_screen_program_runs_and_exits(plain: pexpect.spawn, tmp_path: Path) -> None:
    (tmp_path / "work" / "notes.txt").write_text("".join(f"note line {i}\n" for i in range(200)))
    plain.sendline("TERM=xterm less notes.txt")
    plain.expect_exact("note line 0")
    plain.send(" ")  # next page: keystrokes reach less
    plain.expect_exact("note line 3")
    plain.send("q")
    plain.expect_exact(PROMPT)
    assert run(plain, "echo back; stty -a | grep -o -- '-\\?icanon'").split() == ["back", "icanon"]


def test_window_size_changes_propagate(plain: pexpect.spawn) -> None:
    assert run(plain, "stty size").strip() == "24 80"
    code = ("import os, signal, sys; signal.signal(signal.SIGWINCH, lambda *a: (print('size', *os.get_terminal_size()), "
            "sys.exit(0))); print('waiting', flush=True); signal.pause()")
    plain.sendline(f"{sys.executable} -c \"{code}\"")
    plain.expect_exact("\r\nwaiting\r\n")
    plain.setwinsize(33, 111)
    plain.expect_exact("size 111 33")
    plain.expect_exact(PROMPT)
    assert run(plain, "stty size").strip() == "33 111"


def loose(text: str) -> str:
    """A regex for ``text`` as a screen renderer draws it: a space may be a cursor move."""
    return r"(?:\s|\x1b\[\d*C)+".join(re.escape(w) for w in text.split(" "))


def expect_cpr(child: pexpect.spawn, pattern: Any) -> None:
    """Wait for ``pattern`` (text, drawn loosely), answering cursor position requests as a terminal does."""
    pattern = loose(pattern) if isinstance(pattern, str) else pattern
    while child.expect([pattern, re.escape("\x1b[6n")]) == 1:
        child.send("\x1b[1;1R")


def test_editor_toolbar_shows_the_risk_live(guardsh_bin: Path, session_env: dict[str, str], tmp_path: Path) -> None:
    child = spawn(guardsh_bin, session_env, tmp_path, editor=True)
    try:
        expect_cpr(child, "type a command")
        child.send("ls -la")
        expect_cpr(child, "read-only -> allow")
        child.send(" && rm -rf /")
        expect_cpr(child, "catastrophic -> deny")
        child.send("\x15")  # Ctrl-U: clear the line
        expect_cpr(child, "type a command")
        child.send("export GS_X=42\r")
        expect_cpr(child, "type a command")
        child.send("echo value-$GS_X\r")
        expect_cpr(child, "value-42")
        child.send("if true\r")  # incomplete: Enter adds a line
        child.send("then echo multi-$GS_X; fi\r")
        expect_cpr(child, "multi-42")
        child.send("rm -rf /\r")
        expect_cpr(child, "guardsh: refused (catastrophic, denied by policy)")
        child.send("echo st=$?\r")
        expect_cpr(child, "st=126")
        child.send("\x04")  # Ctrl-D on an empty line leaves
        expect_cpr(child, pexpect.EOF)
    finally:
        child.close(force=True)
    history = (tmp_path / "state" / "guardsh" / "history").read_text()
    assert "echo value-$GS_X" in history


# --- a SWE-ReX-like harness ------------------------------------------------------------------

PS1 = "SHELLPS1PREFIX"
SCRIPT = [
    "echo hello", "pwd", "cd sub && pwd", "export AGENT_VAR=42", "echo $AGENT_VAR", "false", "true",
    "ls", "printf 'a\\nb\\n' | wc -l", "x=5; echo $((x * 3))", "f() { return 3; }", "f", "echo $HOME",
    "cat missing-file", "mkdir -p d1/d2 && ls d1", "echo data > d1/file.txt", "cat d1/file.txt",
    "grep -c data d1/file.txt", "grep -c nothing d1/file.txt", "test -d d1", "[ -f nope ]",
    "for i in 1 2 3; do echo n$i; done", "cat <<EOF\nheredoc line\nEOF", "echo $(( 7 % 4 ))",
    "alias hi='echo alias-hi'", "hi", "cd ..", "sh -c 'exit 4'", "echo 'quoted; not a separator'",
    "python3 -c 'print(6*7)'",
]


class Harness:
    """What SWE-ReX does: spawn the shell, set PS1, send a command, read until PS1, ask $?."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, handshake: str = "initialized") -> None:
        if handshake == "swe-rex-1.4":
            # SWE-ReX 1.4 (runtime/local.py BashSession.start): PS1 is in the environment, the
            # setup line is sent without waiting for anything, then it reads until PS1: the
            # shell's first prompt must be the rc file's, not PS1, or every read is one late
            env = dict(env, PS1=PS1, PS2="", PS0="")
        self.shell = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(cwd), encoding="utf-8", echo=False, timeout=20)
        if handshake == "initialized":
            self.shell.sendline("echo 'fully_initialized'")
            self.shell.expect_exact("fully_initialized\r\n")  # the echoed command line does not match
        self.shell.sendline(f"umask 002; export PS1='{PS1}'; export PS2=''; export PS0=''")
        self.shell.expect_exact(PS1)

    def run(self, command: str) -> tuple[str, int]:
        self.shell.sendline(command)
        self.shell.expect_exact(PS1)
        output = self._clean(self.shell.before, command)
        self.shell.sendline("echo $?")
        self.shell.expect_exact(PS1)
        code = self._clean(self.shell.before, "echo $?").strip()
        return output, int(code)

    @staticmethod
    def _clean(text: str, command: str) -> str:
        text = ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")
        lines = text.split("\n")
        # bash's readline echoes what it was sent; drop the command lines if they are there
        sent = command.split("\n")
        if lines[: len(sent)] == sent:
            lines = lines[len(sent):]
        return "\n".join(lines).strip("\n")

    def close(self) -> None:
        self.shell.close(force=True)


# a stock Ubuntu ~/.bashrc's lines that matter here: its own prompt, and aliases
HOME_BASHRC = """\
case $- in *i*) ;; *) return;; esac
PS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ '
alias ll='ls -alF'
"""


@pytest.mark.parametrize("handshake", ["initialized", "swe-rex-1.4"])
def test_swe_rex_like_harness_gets_what_plain_bash_gives(guardsh_bin: Path, session_env: dict[str, str],
                                                         tmp_path: Path, handshake: str) -> None:
    # bash at a terminal is interactive and reads /etc/bash.bashrc and ~/.bashrc: so does guardsh
    results: dict[str, list[tuple[str, int]]] = {}
    for name, argv in (("bash", ["/bin/bash"]), ("guardsh", [str(guardsh_bin)])):
        work = tmp_path / name
        (work / "sub").mkdir(parents=True)
        (work / ".bashrc").write_text(HOME_BASHRC)
        env = dict(session_env, TERM="dumb", HOME=str(work))
        env.pop("PS1", None)
        harness = Harness(argv, env, work, handshake)
        try:
            results[name] = [harness.run(cmd) for cmd in SCRIPT + ["ll -d sub | wc -l"]]
            if name == "guardsh":  # the gated command: refused, nothing deleted, $? 126
                (work / "precious").mkdir()
                output, code = harness.run("rm -rf precious")
                assert code == 126 and "refused" in output and (work / "precious").is_dir()
                assert harness.run("echo after-refusal") == ("after-refusal", 0)
        finally:
            harness.close()
    for cmd, want, got in zip(SCRIPT, results["bash"], results["guardsh"]):
        want = (want[0].replace(str(tmp_path / "bash"), "W"), want[1])
        got = (got[0].replace(str(tmp_path / "guardsh"), "W"), got[1])
        assert got == want, cmd


# --- start-up files, read as bash reads them -------------------------------------------------

def first_prompt_and(argv: list[str], env: dict[str, str], cwd: Path, line: str) -> tuple[str, str]:
    """The shell's first prompt (``P[...]> ``), and what ``line`` prints."""
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(cwd), encoding="utf-8", echo=False, timeout=20)
    try:
        sent = line + "; echo 'end''-of-line'"
        child.sendline(sent)
        child.expect_exact("end-of-line\r\n")  # the echoed line does not match
        text = ANSI.sub("", child.before).replace("\r\n", "\n")
        prompt = re.match(r"P\[\w+\]> ", text)
        assert prompt, text
        rest = text[prompt.end():]
        if rest.startswith(sent):  # bash's line editor echoes the line
            rest = rest[len(sent):].lstrip("\n")
        return prompt.group(), rest
    finally:
        child.close(force=True)


@pytest.mark.parametrize(("args", "prompt"), [([], "home"), (["--norc"], "env"), (["--rcfile", "RC2"], "rc2"),
                                              (["--norc", "--rcfile", "RC2"], "env"), (["-l"], "profile"),
                                              (["--noprofile", "-l"], "env")],
                         ids=["bashrc", "norc", "rcfile", "norc-rcfile", "login", "login-noprofile"])
def test_startup_files_are_the_ones_bash_reads(guardsh_bin: Path, session_env: dict[str, str], tmp_path: Path,
                                               args: list[str], prompt: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='P[home]> '\nalias hi='echo hi-from-home'\n")
    (home / ".profile").write_text("PS1='P[profile]> '\nalias hi='echo hi-from-profile'\n")
    (tmp_path / "rc2").write_text("PS1='P[rc2]> '\nalias hi='echo hi-from-rc2'\n")
    args = [str(tmp_path / "rc2") if a == "RC2" else a for a in args]
    env = dict(session_env, TERM="dumb", HOME=str(home), PS1="P[env]> ")
    seen = {}
    for name, argv in (("bash", ["/bin/bash"] + args), ("guardsh", [str(guardsh_bin)] + args)):
        seen[name] = first_prompt_and(argv, env, tmp_path, "hi 2>&1 | sed 's/^.*: hi/hi/'")
    assert seen["bash"][0] == f"P[{prompt}]> "
    assert seen["guardsh"] == seen["bash"]


def test_a_startup_file_is_classified_and_refused_like_any_line(guardsh_bin: Path, session_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / ".bashrc").write_text("PS1='P[home]> '\nrm -rf ~/notes\n")
    env = dict(session_env, TERM="dumb", HOME=str(home), PS1="P[env]> ")
    child = pexpect.spawn(str(guardsh_bin), [], env=env, cwd=str(tmp_path), encoding="utf-8", timeout=20)
    try:
        child.expect_exact("P[env]> ")  # nothing of it ran: not the prompt it sets either
        assert "guardsh: refused" in child.before and "were not run" in child.before
        assert (home / "notes").is_dir()
        assert run_line(child, "echo still-here", "P[env]> ") == "still-here"
    finally:
        child.close(force=True)


def run_line(child: pexpect.spawn, line: str, prompt: str) -> str:
    child.sendline(line)
    child.expect_exact(prompt)
    out = child.before.replace("\r\n", "\n")
    first, _, rest = out.partition("\n")
    return rest.strip("\n") if first.strip() == line.strip() else out.strip("\n")


def test_the_environment_the_session_starts_with_is_the_users(guardsh_bin: Path, session_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    # a loader variable inherited or set by ~/.bashrc (Ubuntu's runs lesspipe for LESSOPEN) is the
    # user's, as for guardsh -c; one a line of the session sets is followed
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes").mkdir()
    filt = tmp_path / "filter"
    # as lesspipe does: it names its program by a variable
    filt.write_text('#!/bin/sh\nF=cat\nif [ -x ~/.lessfilter ]; then F=~/.lessfilter; fi\n"$F" "$1"\n')
    filt.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(f"PS1='P[home]> '\nexport LESSCLOSE='| {filt} %s'\n")
    env = dict(session_env, TERM="dumb", HOME=str(home), LESSOPEN=f"| {filt} %s")
    child = pexpect.spawn(str(guardsh_bin), [], env=env, cwd=str(work), encoding="utf-8", timeout=20)
    try:
        child.expect_exact("P[home]> ")
        assert "No commits yet" in run_line(child, "git status", "P[home]> ")
        out = run_line(child, f"export LESSOPEN='| rm -rf {work}/notes %s'; git status", "P[home]> ")
        assert "guardsh: refused" in out and (work / "notes").is_dir()
    finally:
        child.close(force=True)
