"""Transparency when allowed: guardsh execs the real bash, so what the caller sees is bash's own.

Every check runs the real launcher and compares with plain /bin/bash run with the same argv
(argv[0] included), stdin, cwd and environment: exit status, death by signal, stdout and stderr
byte for byte, stdin, ``$0``/``$@``; then the real-bash lookup and the recursion guard.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from guardsh.procs import start_time, text_hash
from guardsh.shell.execute import ExecError, is_guardsh, real_bash

from bashcompare import BASH, run_as, same

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture()
def both(guardsh_bin: Path, guardsh_env: dict[str, str]) -> Callable[..., tuple[Any, Any]]:
    """both(*args, **subprocess kw) -> (guardsh result, bash result), bash run under guardsh's argv[0]."""

    def run(*args: Any, env: dict[str, str] | None = None, **kw: Any) -> tuple[Any, Any]:
        env = env or guardsh_env
        g = run_as(str(guardsh_bin), str(guardsh_bin), list(args), env, **kw)
        b = run_as(BASH, str(guardsh_bin), list(args), env, **kw)
        return g, b

    return run


# --- exit status --------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 2, 3, 42, 125, 126, 127, 128, 129, 254, 255, 256, 300, -1])
def test_exit_status_is_bash_s(both: Callable[..., Any], code: int) -> None:
    g, b = both("-c", f"exit {code}")
    same(g, b)
    assert g.returncode == code % 256


def test_every_exit_status_round_trips(run_guardsh: Run) -> None:
    assert run_guardsh("-c", "exit 0").returncode == 0  # warm the rule cache before the parallel runs
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
        codes = list(pool.map(lambda n: run_guardsh("-c", f"exit {n}").returncode, range(256)))
    assert codes == list(range(256))


def test_exit_status_of_the_last_command(both: Callable[..., Any], tmp_path: Path) -> None:
    same(*both("-c", "true; false"))
    same(*both("-c", "(exit 7) | (exit 9)"))
    same(*both("-c", "/nonexistent/program"))  # 127, bash's message
    (tmp_path / "notexec").write_text("echo hi\n")
    g, b = both("-c", "./notexec", cwd=tmp_path)  # 126: not executable
    same(g, b)
    assert g.returncode == 126 and b"Permission denied" in g.stderr


@pytest.mark.parametrize("text, sig", [
    ("kill -TERM $$", "TERM"), ("kill -KILL $$", "KILL"), ("kill -INT $$", "INT"), ("kill -HUP $$", "HUP"),
    ("kill -s USR1 $$", "USR1"), ("kill -9 $$", "KILL"), ("kill $$", "TERM"),
    ("kill -USR1 $$", "USR1"),
    ("kill -PIPE $$", "PIPE"),
    ("kill -XFSZ $$", "XFSZ"),
])
def test_death_by_signal_is_bash_s(both: Callable[..., Any], text: str, sig: str, tmp_path: Path) -> None:
    g, b = both("-c", text, cwd=tmp_path)
    assert b.returncode == -getattr(signal, f"SIG{sig}")
    same(g, b)


def test_a_closed_pipe_kills_the_writer(both: Callable[..., Any]) -> None:
    """`yes | head -1`: yes dies of SIGPIPE (141) quietly, as under bash."""
    g, b = both("-c", 'yes | head -1; echo "${PIPESTATUS[*]}"')
    assert b.stdout == b"y\n141 0\n" and b.stderr == b""
    same(g, b)


def test_signal_dispositions_are_bash_s(both: Callable[..., Any]) -> None:
    g, b = both("-c", "trap -p")
    same(g, b)


def test_the_caller_signals_bash_itself(guardsh_bin: Path, guardsh_env: dict[str, str]) -> None:
    """exec keeps the pid and the process group: the caller's pid is bash's, a signal reaches it."""
    p = subprocess.Popen([str(guardsh_bin), "-c", 'echo "$$"; read x'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, env=guardsh_env)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert int(line) == p.pid
        assert os.path.realpath(f"/proc/{p.pid}/exe") == os.path.realpath(BASH)
        assert os.getpgid(p.pid) == os.getpgrp()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == -signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# --- stdout and stderr --------------------------------------------------------------------

def test_binary_output(both: Callable[..., Any], tmp_path: Path) -> None:
    data = os.urandom(100_000)
    (tmp_path / "f").write_bytes(data)
    g, b = both("-c", "cat f", cwd=tmp_path)
    same(g, b)
    assert g.stdout == data


def test_binary_on_stderr(both: Callable[..., Any], tmp_path: Path) -> None:
    data = os.urandom(50_000)
    (tmp_path / "f").write_bytes(data)
    g, b = both("-c", "cat f >&2", cwd=tmp_path)
    same(g, b)
    assert g.stderr == data and g.stdout == b""


def test_large_output(both: Callable[..., Any]) -> None:
    g, b = both("-c", "seq 1 1500000")
    assert len(g.stdout) > 10_000_000
    same(g, b)


def test_interleaved_streams_keep_their_order(both: Callable[..., Any]) -> None:
    text = "for i in $(seq 300); do echo out$i; echo err$i >&2; done; printf tail"
    g, b = both("-c", text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert g.stdout == b.stdout
    want = "".join(f"out{i}\nerr{i}\n" for i in range(1, 301)) + "tail"
    assert g.stdout == want.encode()


def test_separate_streams(both: Callable[..., Any]) -> None:
    g, b = both("-c", "echo one; echo two >&2; echo three; printf four >&2")
    same(g, b)
    assert (g.stdout, g.stderr) == (b"one\nthree\n", b"two\nfour")


def test_no_trailing_newline(both: Callable[..., Any]) -> None:
    g, b = both("-c", "printf abc; printf def >&2")
    same(g, b)
    assert (g.stdout, g.stderr) == (b"abc", b"def")


def test_empty_output(both: Callable[..., Any]) -> None:
    g, b = both("-c", ":")
    same(g, b)
    assert g.stdout == g.stderr == b""


def test_invalid_utf8_output(both: Callable[..., Any]) -> None:
    g, b = both("-c", r"printf '\377\376\200ok\300'; printf '\355\240\200' >&2")
    same(g, b)
    assert g.stdout == b"\xff\xfe\x80ok\xc0" and g.stderr == b"\xed\xa0\x80"


def test_invalid_utf8_in_the_command_and_arguments(both: Callable[..., Any]) -> None:
    g, b = both(b"-c", b'printf "%s|" "\xff\xfe" "$0" "$1"', b"n\xe9", b"\x80\xc0a")
    same(g, b)
    assert g.stdout == b"\xff\xfe|n\xe9|\x80\xc0a|"


def test_bash_error_messages_are_bash_s(both: Callable[..., Any]) -> None:
    same(*both("-c", "no_such_command_xyz"))
    same(*both("-c", "echo ${x:?is unset}"))
    same(*both("-c", "cd /nonexistent"))


# --- stdin --------------------------------------------------------------------------------

def test_binary_stdin_passes_through(both: Callable[..., Any]) -> None:
    data = os.urandom(1_000_000)
    g, b = both("-c", "cat", input=data)
    same(g, b)
    assert g.stdout == data


def test_stdin_from_a_regular_file(guardsh_bin: Path, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    data = os.urandom(200_000)
    f = tmp_path / "in"
    f.write_bytes(data)
    out = {}
    for exe in (str(guardsh_bin), BASH):
        with open(f, "rb") as stdin:
            out[exe] = run_as(exe, str(guardsh_bin), ["-c", "head -c 10 >/dev/null; cat"], guardsh_env, stdin=stdin)
    g, b = out[str(guardsh_bin)], out[BASH]
    same(g, b)
    assert g.stdout == data[10:]


def test_read_a_line(both: Callable[..., Any]) -> None:
    g, b = both("-c", 'read x; echo "[$x]"; cat', input=b"hello world\nrest\xff")
    same(g, b)
    assert g.stdout == b"[hello world]\nrest\xff"


def test_no_stdin(both: Callable[..., Any]) -> None:
    g, b = both("-c", 'read x; echo "rc=$?"', stdin=subprocess.DEVNULL)
    same(g, b)
    assert g.stdout == b"rc=1\n"


@pytest.mark.parametrize("redirect, args", [
    (">&-", ["-c", "touch marker"]),
    ("2>&-", ["-c", "touch marker"]),
    ("<&-", []),
    ("<&-", ["-c", "touch marker; read x || echo no-stdin >marker"]),
])
def test_closed_standard_fds(guardsh_bin: Path, guardsh_env: dict[str, str], tmp_path: Path, redirect: str,
                             args: list[str]) -> None:
    """A caller may close stdin/stdout/stderr (daemons, `cmd >&-`): bash still runs the command."""
    results = []
    for exe in (str(guardsh_bin), BASH):
        (tmp_path / "marker").unlink(missing_ok=True)
        r = subprocess.run([BASH, "-c", f'exec -a "$0" "$@" {redirect}', str(guardsh_bin), exe, *args],
                           cwd=tmp_path, env=guardsh_env, capture_output=True, timeout=60)
        results.append((r.returncode, (tmp_path / "marker").exists()))
    assert results[0] == results[1]


# --- $0 and $@ ----------------------------------------------------------------------------

def test_name_and_arguments(both: Callable[..., Any]) -> None:
    g, b = both("-c", 'echo "$0|$1|$#|$*"', "name", "a", "b c")
    same(g, b)
    assert g.stdout == b"name|a|2|a b c\n"


def test_arguments_keep_their_words(both: Callable[..., Any]) -> None:
    g, b = both("-c", 'printf "<%s>" "$@"', "n", "", " x ", "*", "$HOME", "-c", "--")
    same(g, b)
    assert g.stdout == b"<><" + b" x " + b"><*><$HOME><-c><-->"


def test_zero_without_a_name(both: Callable[..., Any], guardsh_bin: Path) -> None:
    g, b = both("-c", 'echo "$0|$#"')
    same(g, b)
    assert g.stdout == f"{guardsh_bin}|0\n".encode()


@pytest.mark.xfail(strict=True, reason=(
    "the launcher is a '#!python -IS' script: the kernel replaces argv[0] with the script's path, "
    "so $0 (and the login '-' prefix) that the caller chose never reaches guardsh or bash"))
def test_zero_is_the_callers_argv0(guardsh_bin: Path, guardsh_env: dict[str, str]) -> None:
    g = run_as(str(guardsh_bin), "agent-shell", ["-c", 'echo "$0"'], guardsh_env)
    b = run_as(BASH, "agent-shell", ["-c", 'echo "$0"'], guardsh_env)
    assert b.stdout == b"agent-shell\n"
    assert g.stdout == b.stdout


# --- which bash runs ----------------------------------------------------------------------

def home_with_config(tmp_path: Path, guardsh_env: dict[str, str], config: str) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".config" / "guardsh").mkdir(parents=True)
    (home / ".config" / "guardsh" / "config.yaml").write_text(config)
    return dict(guardsh_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))


@pytest.mark.parametrize("target", ["launcher", "link"])
def test_real_bash_resolving_to_guardsh_runs_nothing(run_guardsh: Run, guardsh_bin: Path, guardsh_env: dict[str, str],
                                                     tmp_path: Path, target: str) -> None:
    path = guardsh_bin
    if target == "link":
        path = tmp_path / "bash"
        path.symlink_to(guardsh_bin)
    env = home_with_config(tmp_path, guardsh_env, f"bash: {path}\n")
    r = run_guardsh("-c", "touch marker; echo ran", cwd=str(tmp_path), env=env)
    assert r.returncode == 125
    assert r.stdout == b""
    assert b"resolves to guardsh itself" in r.stderr and str(path).encode() in r.stderr
    assert b"nothing was run" in r.stderr
    assert not (tmp_path / "marker").exists()


def test_configured_bash_that_is_missing(run_guardsh: Run, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    env = home_with_config(tmp_path, guardsh_env, "bash: /nonexistent/bash\n")
    r = run_guardsh("-c", "touch marker", cwd=str(tmp_path), env=env)
    assert r.returncode == 125
    assert b"/nonexistent/bash" in r.stderr
    assert not (tmp_path / "marker").exists()


def test_configured_bash_is_used(run_guardsh: Run, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    env = home_with_config(tmp_path, guardsh_env, "bash: /usr/bin/bash\n")
    r = run_guardsh("-c", 'readlink /proc/$$/exe; :', env=env)
    assert (r.returncode, r.stdout) == (0, os.path.realpath("/usr/bin/bash").encode() + b"\n")


def test_real_bash_unit(guardsh_bin: Path, tmp_path: Path) -> None:
    assert real_bash(None, ()) == next(p for p in ("/bin/bash", "/usr/bin/bash") if os.access(p, os.X_OK))
    assert real_bash("/usr/bin/bash", (str(guardsh_bin),)) == "/usr/bin/bash"
    link = tmp_path / "bash"
    link.symlink_to(guardsh_bin)
    for path in (str(guardsh_bin), str(link)):
        with pytest.raises(ExecError, match="resolves to guardsh itself"):
            real_bash(path, ())  # found by the launcher marker alone
    copy = tmp_path / "launcher-copy"
    copy.write_bytes(b"#!/bin/sh\n# not guardsh\n")
    copy.chmod(0o755)
    with pytest.raises(ExecError, match="resolves to guardsh itself"):
        real_bash(str(copy), (str(copy),))  # named in self_paths
    with pytest.raises(ExecError, match="not an executable"):
        real_bash(str(tmp_path), ())  # a directory


def test_is_guardsh(guardsh_bin: Path, tmp_path: Path) -> None:
    link = tmp_path / "sh"
    link.symlink_to(guardsh_bin)
    assert is_guardsh(str(guardsh_bin), ())
    assert is_guardsh(str(link), ())
    assert not is_guardsh(BASH, (str(guardsh_bin),))
    assert not is_guardsh(str(tmp_path / "missing"), ())


# --- recursion guard ----------------------------------------------------------------------

@pytest.mark.parametrize("forged", ["1:1:{h}", "999999:12345:{h}", "{h}", "{pid}:0:{h}"])
def test_forged_token_does_not_skip_classification(run_guardsh: Run, guardsh_env: dict[str, str], gitdir: Path,
                                                   forged: str) -> None:
    cmd = "rm -rf .git"
    env = dict(guardsh_env, GUARDSH_NESTED=forged.format(h=text_hash(cmd), pid=os.getpid()))
    r = run_guardsh("-c", cmd, cwd=str(gitdir), env=env)
    assert r.returncode == 126
    assert (gitdir / ".git").is_dir()


def test_token_forged_from_an_ancestors_proc_entry(run_guardsh: Run, guardsh_env: dict[str, str],
                                                   gitdir: Path) -> None:
    cmd = "rm -rf .git"
    me = os.getpid()  # the caller is an ancestor of the guardsh it starts
    env = dict(guardsh_env, GUARDSH_NESTED=f"{me}:{start_time(me)}:{text_hash(cmd)}")
    r = run_guardsh("-c", cmd, cwd=str(gitdir), env=env)
    assert (gitdir / ".git").is_dir()
    assert r.returncode == 126


@pytest.fixture()
def shell_links(guardsh_bin: Path, tmp_path: Path) -> Path:
    d = tmp_path / "shell"
    d.mkdir()
    for name in ("bash", "sh"):
        (d / name).symlink_to(guardsh_bin)
    return d


def test_genuinely_nested_guardsh_runs(run_guardsh: Run, guardsh_env: dict[str, str], shell_links: Path) -> None:
    env = dict(guardsh_env, PATH=f"{shell_links}:{guardsh_env['PATH']}")
    r = run_guardsh("-c", 'bash -c "echo nested"', env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"nested\n", b"")
    # the inner bash really went through guardsh: it exec'd with a token naming its own pid
    r = run_guardsh("-c", 'bash -c \'echo "$$ ${GUARDSH_NESTED%%:*}"\'', env=env)
    inner_pid, token_pid = r.stdout.split()
    assert r.returncode == 0 and inner_pid == token_pid


def test_nested_guardsh_classifies_what_its_ancestor_did_not(run_guardsh: Run, guardsh_env: dict[str, str],
                                                             shell_links: Path, gitdir: Path) -> None:
    """A program the outer guardsh cannot see into starts `bash -c 'rm -rf .git'`: the inner refuses."""
    runner = gitdir / "runner.py"
    runner.write_text("import subprocess, sys\n"
                      "r = subprocess.run(['bash', '-c', sys.argv[1]])\n"
                      "print('inner', r.returncode)\n")
    env = dict(guardsh_env, PATH=f"{shell_links}:{guardsh_env['PATH']}")
    r = run_guardsh("-c", f"{sys.executable} -I runner.py 'rm -rf .git'", cwd=str(gitdir), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"inner 126\n"
    assert b"rm-protected-path" in r.stderr
    assert (gitdir / ".git").is_dir()
