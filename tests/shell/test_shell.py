"""guardsh as a drop-in shell: bash's options, scripts, stdin, refusals, argv[0] dispatch,
subcommands, and failing closed.  Real launcher, real bash, real files; no mocks.

Where it makes sense the result is compared with /bin/bash run with the same argv (argv[0]
included), stdin, cwd and environment, byte for byte.
"""
from __future__ import annotations

import json
import marshal
import os
import select
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from guardsh import __version__

from bashcompare import BASH, run_as, same

Run = Callable[..., subprocess.CompletedProcess[bytes]]
LOGIN = "shopt -q login_shell && echo login || echo not-login"


@pytest.fixture()
def env(guardsh_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """guardsh_env with a private runtime dir: no approver console anyone else runs is reachable."""
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o700)
    return dict(guardsh_env, XDG_RUNTIME_DIR=str(runtime))


@pytest.fixture()
def gsh(guardsh_bin: Path, env: dict[str, str]) -> Run:
    """gsh(*args, argv0=None, env=None, **subprocess kw): run the launcher."""

    default_env = env

    def run(*args: str, argv0: str | None = None, env: dict[str, str] | None = None, **kw: Any) -> Any:
        return run_as(str(guardsh_bin), argv0 or str(guardsh_bin), list(args), env or default_env, **kw)

    return run


@pytest.fixture()
def both(guardsh_bin: Path, env: dict[str, str]) -> Callable[..., tuple[Any, Any]]:
    """both(*args, exe=launcher, argv0=exe, **kw) -> (guardsh, bash): bash gets the same argv[0]."""

    def run(*args: str, exe: Path | None = None, argv0: str | None = None, **kw: Any) -> tuple[Any, Any]:
        exe = exe or guardsh_bin
        argv0 = argv0 or str(exe)
        e = kw.pop("env", env)
        stdin_file = kw.pop("stdin_file", None)
        out = []
        for program in (str(exe), BASH):
            if stdin_file is not None:
                with open(stdin_file, "rb") as stdin:
                    out.append(run_as(program, argv0, list(args), e, stdin=stdin, **kw))
            else:
                out.append(run_as(program, argv0, list(args), e, **kw))
        return out[0], out[1]

    return run


@pytest.fixture()
def scratch_home(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A HOME of its own, with a canary: if `rm -rf ~` ever ran, only this would go."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "canary").write_text("alive\n")
    return home, dict(env, HOME=str(home), XDG_CACHE_HOME=env["XDG_CACHE_HOME"])


def assert_refused(r: subprocess.CompletedProcess[bytes], rule: str, risk: str) -> None:
    assert r.returncode == 126, r.stderr
    assert r.stdout == b""
    err = r.stderr.decode()
    assert f"rule {rule} ({risk})" in err
    assert f"refused ({risk}" in err
    assert "Do not retry" in err


# --- bash's options -----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["-c", LOGIN],
    ["-lc", LOGIN],
    ["-c", "-l", LOGIN],
    ["-l", "-c", LOGIN],
    ["--login", "-c", LOGIN],
    ["--noprofile", "-lc", LOGIN],
    ["--norc", "-c", "echo x; echo $-"],
    ["--noprofile", "--norc", "-c", LOGIN],
    ["-e", "-c", "echo one; false; echo two"],
    ["-ec", "false; echo two"],
    ["-u", "-c", 'echo "$unset_var"; echo after'],
    ["-x", "-c", "echo a; b=1; echo $b"],
    ["-xv", "-c", "echo v"],
    ["-o", "pipefail", "-c", "false | true; echo $?"],
    ["-o", "pipefail", "-c", "false | true"],
    ["-o", "pipefail", "+o", "pipefail", "-c", "false | true; echo $?"],
    ["+o", "braceexpand", "-c", "echo {a,b}"],
    ["+B", "-c", "echo {a,b}"],
    ["-f", "-c", "echo /*"],
    ["-O", "extglob", "-c", "shopt extglob"],
    ["+O", "extglob", "-c", "shopt extglob"],
    ["--posix", "-c", "shopt -qo posix && echo posix"],
    ["-c", "echo $-"],
    ["-Z", "-c", "echo x"],
    ["--bogus", "-c", "echo x"],
    ["-o", "no-such-option", "-c", "echo x"],
    ["-c"],
    ["--version"],
    ["-n", "-c", "if then"],
    ["-n", "-c", "echo fine"],
    ["-c", "if then"],
], ids=lambda a: " ".join(a))
def test_options_behave_as_in_bash(both: Callable[..., Any], args: list[str], tmp_path: Path) -> None:
    same(*both(*args, cwd=tmp_path))


def test_login_and_not(gsh: Run) -> None:
    assert gsh("-lc", LOGIN).stdout == b"login\n"
    assert gsh("-c", "-l", LOGIN).stdout == b"login\n"
    assert gsh("-c", LOGIN).stdout == b"not-login\n"
    assert gsh("-c", LOGIN, "-l").stdout == b"not-login\n"  # after the text, -l is $0


def test_option_effects(gsh: Run) -> None:
    r = gsh("-e", "-c", "echo one; false; echo two")
    assert (r.returncode, r.stdout) == (1, b"one\n")
    r = gsh("-x", "-c", "echo a")
    assert (r.stdout, r.stderr) == (b"a\n", b"+ echo a\n")
    assert gsh("-o", "pipefail", "-c", "false | true").returncode == 1
    assert gsh("+o", "braceexpand", "-c", "echo {a,b}").stdout == b"{a,b}\n"


def test_unknown_option_is_bash_s_error(gsh: Run, guardsh_bin: Path) -> None:
    r = gsh("-Z", "-c", "echo x")
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.startswith(f"{guardsh_bin}: -Z: invalid option\n".encode())
    r = gsh("--bogus")
    assert r.returncode == 2 and b"--bogus: invalid option" in r.stderr


def test_version_is_bash_s(gsh: Run) -> None:
    r = gsh("--version")
    assert r.returncode == 0 and r.stdout.startswith(b"GNU bash, version ")


def test_syntax_check_runs_nothing(gsh: Run, scratch_home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, env = scratch_home
    r = gsh("-n", "-c", "touch marker; rm -rf ~", cwd=tmp_path, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert not (tmp_path / "marker").exists() and (home / "canary").exists()
    r = gsh("-n", "-c", "if then", cwd=tmp_path, env=env)
    assert r.returncode == 2 and b"syntax error" in r.stderr


# --- script files -------------------------------------------------------------------------

def test_script_with_arguments(both: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text('echo "$0|$1|$2|$#"\nprintf "%s\\n" "$@" >&2\nexit 3\n')
    g, b = both("script.sh", "a", "b c", cwd=tmp_path)
    same(g, b)
    assert (g.returncode, g.stdout, g.stderr) == (3, b"script.sh|a|b c|2\n", b"a\nb c\n")


@pytest.mark.parametrize("args", [
    ["-e", "script.sh", "x"], ["--", "script.sh"], ["-x", "script.sh", "-c", "y"], ["-", "script.sh"],
    ["missing.sh"], ["."], ["-n", "script.sh"],
], ids=lambda a: " ".join(a))
def test_script_shapes_behave_as_in_bash(both: Callable[..., Any], tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "script.sh").write_text('echo "$0|$*"; false; echo after\n')
    same(*both(*args, cwd=tmp_path))


def test_refused_script_does_notrun_as(gsh: Run, scratch_home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, env = scratch_home
    script = tmp_path / "cleanup.sh"
    script.write_text("touch marker\necho started\nrm -rf ~\n")
    r = gsh(str(script), "a", cwd=tmp_path, env=env)
    assert_refused(r, "rm-protected-path", "catastrophic")
    assert not (tmp_path / "marker").exists()
    assert (home / "canary").read_text() == "alive\n"


def test_script_found_on_path_is_classified(gsh: Run, env: dict[str, str], gitdir: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "pbin"
    bindir.mkdir()
    (bindir / "tidy-up").write_text("touch marker\nrm -rf .git\n")
    r = gsh("tidy-up", cwd=gitdir, env=dict(env, PATH=f"{bindir}:{env['PATH']}"))
    assert (gitdir / ".git").is_dir() and not (gitdir / "marker").exists()
    assert r.returncode == 126


# --- commands on stdin --------------------------------------------------------------------

def test_commands_on_a_pipe(both: Callable[..., Any]) -> None:
    g, b = both(input=b"echo hi\n")
    same(g, b)
    assert g.stdout == b"hi\n"


def test_dash_s_with_arguments_from_a_file(both: Callable[..., Any], tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text('echo "$#|$1|$2"\n')
    g, b = both("-s", "a", "b c", stdin_file=script)
    same(g, b)
    assert g.stdout == b"2|a|b c\n"


@pytest.mark.parametrize("source", ["pipe", "file"])
def test_commands_that_read_the_rest_of_stdin(both: Callable[..., Any], tmp_path: Path, source: str) -> None:
    """bash reads its commands line by line: a `read` in the script takes the next line."""
    text = b'read x\nhello there\necho "got [$x]"\nhead -n 1\nnot a command\necho end\n'
    if source == "file":
        (tmp_path / "in").write_bytes(text)
        g, b = both(stdin_file=tmp_path / "in")
    else:
        g, b = both(input=text)
    same(g, b)
    # head reads ahead from a pipe but seeks back in a file, so "echo end" runs only from a file
    want = b"got [hello there]\nnot a command\n" + (b"end\n" if source == "file" else b"")
    assert g.stdout == want


def test_a_long_script_on_a_pipe(both: Callable[..., Any]) -> None:
    text = "".join(f"echo line {i}\n" for i in range(6000)).encode()  # > a pipe buffer
    g, b = both(input=text)
    same(g, b)
    assert g.stdout.count(b"\n") == 6000


def test_invalid_utf8_on_stdin(both: Callable[..., Any]) -> None:
    g, b = both(input=b"printf '%s' '\xff\xfe'\necho\n")
    same(g, b)
    assert g.stdout == b"\xff\xfe\n"


def test_empty_stdin(both: Callable[..., Any]) -> None:
    g, b = both(stdin=subprocess.DEVNULL)
    same(g, b)
    assert (g.returncode, g.stdout) == (0, b"")


@pytest.mark.xfail(strict=True, reason=(
    "guardsh reads stdin to EOF before it runs anything, so a caller that feeds commands through an "
    "open pipe and waits for each answer (a persistent non-tty session) hangs; bash runs each line "
    "as it arrives"))
def test_commands_on_an_open_pipe_run_as_they_arrive(guardsh_bin: Path, env: dict[str, str]) -> None:
    def first_answer(exe: str) -> bytes | None:
        p = subprocess.Popen([str(guardsh_bin)], executable=exe, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env)
        assert p.stdin is not None and p.stdout is not None
        try:
            p.stdin.write(b"echo first\n")
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 3)
            return p.stdout.readline() if ready else None
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()

    assert first_answer(BASH) == b"first\n"
    assert first_answer(str(guardsh_bin)) == b"first\n"


@pytest.mark.parametrize("args", [[], ["-s"], ["-s", "a"]])
def test_refused_stdin_script(gsh: Run, scratch_home: tuple[Path, dict[str, str]], tmp_path: Path,
                              args: list[str]) -> None:
    home, env = scratch_home
    r = gsh(*args, input=b"touch marker\necho started\nrm -rf ~\n", cwd=tmp_path, env=env)
    assert_refused(r, "rm-protected-path", "catastrophic")
    assert not (tmp_path / "marker").exists() and (home / "canary").exists()


# --- refusals -----------------------------------------------------------------------------

def test_catastrophic_is_refused(gsh: Run, gitdir: Path) -> None:
    r = gsh("-c", "rm -rf .git", cwd=gitdir)
    assert_refused(r, "rm-protected-path", "catastrophic")
    assert "denied by policy" in r.stderr.decode()
    assert (gitdir / ".git" / "HEAD").is_file()


def test_destructive_is_refused_without_an_approver(gsh: Run, gitdir: Path, env: dict[str, str],
                                                   lowering_off) -> None:  # type: ignore[no-untyped-def]
    r = gsh("-c", "shred f", cwd=gitdir, env=lowering_off(env))
    assert_refused(r, "shred-files", "destructive")
    assert (gitdir / "f").read_bytes() == b"precious\n"


def test_refused_means_nothing_runs(gsh: Run, gitdir: Path) -> None:
    r = gsh("-c", "touch marker; echo started; rm -rf .git; echo done", cwd=gitdir)
    assert_refused(r, "rm-protected-path", "catastrophic")
    assert not (gitdir / "marker").exists() and (gitdir / ".git").is_dir()


@pytest.mark.parametrize("text", [
    "bash -c 'rm -rf .git'",
    "echo $(rm -rf .git)",
    "true && { cd . ; rm -rf .git; }",
    "sh -c 'sh -c \"rm -rf .git\"'",
    "bash -lc 'rm -rf .git'",
    "bash -o pipefail -c 'rm -rf .git'",
    "env X=1 bash -c 'rm -rf .git'",
    "find . -maxdepth 0 -exec rm -rf .git \\;",
])
def test_nested_dangerous_commands_are_refused(gsh: Run, gitdir: Path, text: str) -> None:
    r = gsh("-c", text, cwd=gitdir)
    assert r.returncode == 126 and r.stdout == b"" and b"Do not retry" in r.stderr
    assert (gitdir / ".git").is_dir()


def test_bash_env_is_classified_too(gsh: Run, env: dict[str, str], gitdir: Path, tmp_path: Path) -> None:
    """bash sources $BASH_ENV before a non-interactive command: it is part of what runs."""
    rc = tmp_path / "env.sh"
    rc.write_text("rm -rf .git\n")
    r = gsh("-c", "true", cwd=gitdir, env=dict(env, BASH_ENV=str(rc)))
    assert r.returncode == 126 and b"rm-protected-path" in r.stderr
    assert (gitdir / ".git").is_dir()


def test_unparseable_text_is_refused(gsh: Run, gitdir: Path) -> None:
    r = gsh("-c", 'rm -rf .git; echo "unterminated', cwd=gitdir)
    assert r.returncode == 126 and r.stdout == b""
    assert (gitdir / ".git").is_dir()


@pytest.mark.parametrize("args", [
    ["-oc", "pipefail", "rm -rf .git"],
    ["-Oc", "extglob", "rm -rf .git"],
    ["+c", "rm -rf .git"],
    ["-login", "-c", "rm -rf .git"],
    ["-norc", "-c", "rm -rf .git"],
    ["-noprofile", "-c", "rm -rf .git"],
    ["-rcfile", "x", "-c", "rm -rf .git"],
    ["-posix", "-c", "rm -rf .git"],
    ["-co", "pipefail", "rm -rf .git"],
    ["--norc", "-c", "rm -rf .git"],
    ["--rcfile", "x", "-c", "rm -rf .git"],
    ["-restricted", "-c", "rm -rf .git"],
], ids=lambda a: " ".join(a))
def test_every_argv_that_runs_a_text_classifies_it(gsh: Run, gitdir: Path, args: list[str]) -> None:
    r = gsh(*args, cwd=gitdir)
    assert (gitdir / ".git").is_dir()
    assert r.returncode == 126


@pytest.mark.parametrize("text", [
    "bash -norc -c 'rm -rf .git'",
    "bash -rcfile x -c 'rm -rf .git'",
    "bash -noprofile -c 'rm -rf .git'",
    "bash -oc pipefail 'rm -rf .git'",  # misread, but as an unreadable script: opaque, refused
    "bash +c 'rm -rf .git'",
], ids=str)
def test_nested_shells_with_odd_argv_are_classified(gsh: Run, gitdir: Path, text: str) -> None:
    r = gsh("-c", text, cwd=gitdir)
    assert (gitdir / ".git").is_dir()
    assert r.returncode == 126


def test_rcfile_of_an_interactive_shell_is_classified(gsh: Run, gitdir: Path, tmp_path: Path) -> None:
    rc = tmp_path / "rc.sh"
    rc.write_text("rm -rf .git\n")
    r = gsh("--rcfile", str(rc), "-ic", "true", cwd=gitdir)
    assert (gitdir / ".git").is_dir()
    assert r.returncode == 126


# --- argv[0] dispatch ---------------------------------------------------------------------

@pytest.fixture()
def links(guardsh_bin: Path, tmp_path: Path) -> Path:
    d = tmp_path / "shell"
    d.mkdir()
    for name in ("bash", "sh"):
        (d / name).symlink_to(guardsh_bin)
    return d


@pytest.mark.parametrize("name", ["bash", "sh"])
@pytest.mark.parametrize("args", [
    ["-c", 'echo "$0|$#"'],
    ["-c", "shopt -qo posix && echo posix || echo bash-mode"],
    ["-c", 'echo "$1"', "n", "x"],
    ["version"],  # under a shell's name a subcommand name is just a script name
    ["check", "--", "true"],
    ["--help"],
    ["--version"],
], ids=lambda a: " ".join(a))
def test_links_are_shells(both: Callable[..., Any], links: Path, name: str, args: list[str], tmp_path: Path) -> None:
    g, b = both(*args, exe=links / name, cwd=tmp_path)
    same(g, b)


def test_sh_link_is_posix_mode(links: Path, env: dict[str, str]) -> None:
    r = run_as(str(links / "sh"), str(links / "sh"), ["-c", "shopt -qo posix && echo posix"], env)
    assert r.stdout == b"posix\n"
    r = run_as(str(links / "bash"), str(links / "bash"), ["-c", "shopt -qo posix || echo bash-mode"], env)
    assert r.stdout == b"bash-mode\n"


def test_own_name_takes_subcommands(gsh: Run) -> None:
    r = gsh("--help")
    assert r.returncode == 0 and r.stdout.startswith(b"usage: guardsh")
    assert gsh("version").stdout == f"guardsh {__version__}\n".encode()


@pytest.mark.xfail(strict=True, reason=(
    "a '#!' launcher loses argv[0]: a link run by name from PATH shows its full path as $0, where bash "
    "shows the name it was called by"))
def test_link_run_from_path_sees_its_name(links: Path, env: dict[str, str]) -> None:
    path_env = dict(env, PATH=f"{links}:{env['PATH']}")
    r = subprocess.run(["sh", "-c", 'echo "$0"'], env=path_env, capture_output=True, timeout=60)
    assert r.stdout == b"sh\n"


@pytest.mark.xfail(strict=True, reason=(
    "a '#!' launcher loses argv[0]: '-bash' (how login(1) and sshd start a login shell) never reaches "
    "guardsh, so the shell is not a login shell"))
def test_leading_dash_in_argv0_makes_a_login_shell(both: Callable[..., Any], links: Path) -> None:
    g, b = both("-c", f'{LOGIN}; echo "$0"', exe=links / "bash", argv0="-bash")
    assert b.stdout == b"login\n-bash\n"
    same(g, b)


# --- subcommands --------------------------------------------------------------------------

def test_check_json_shape(gsh: Run, gitdir: Path) -> None:
    r = gsh("check", "--json", "--", "rm -rf .git", cwd=gitdir)
    assert r.returncode == 0 and r.stderr == b""
    assert r.stdout.endswith(b"\n") and r.stdout.count(b"\n") == 1
    data = json.loads(r.stdout)
    assert set(data) == {"command", "decision", "risk", "matches", "parse"}
    assert (data["command"], data["decision"], data["risk"], data["parse"]) == ("rm -rf .git", "deny", "catastrophic", "full")
    assert data["matches"]
    for m in data["matches"]:
        assert set(m) == {"rule", "risk", "reason", "suggest", "at"}
        assert isinstance(m["reason"], str) and m["reason"]
        assert m["suggest"] is None or isinstance(m["suggest"], str)
    assert any(m["rule"] == "rm-protected-path" and m["at"] == "rm -rf .git" for m in data["matches"])
    assert (gitdir / ".git").is_dir()  # check runs nothing


def test_check_json_allowed(gsh: Run, tmp_path: Path) -> None:
    r = gsh("check", "--json", "--", "ls -la | grep x", cwd=tmp_path)
    data = json.loads(r.stdout)
    assert data == {"command": "ls -la | grep x", "decision": "allow", "risk": "read-only", "matches": [],
                    "parse": "full"}


def test_check_joins_words(gsh: Run, tmp_path: Path) -> None:
    data = json.loads(gsh("check", "--json", "--", "echo", "a", cwd=tmp_path).stdout)
    assert data["command"] == "echo a"


def test_check_human(gsh: Run, gitdir: Path) -> None:
    r = gsh("check", "--", "rm -rf .git", cwd=gitdir)
    out = r.stdout.decode()
    assert r.returncode == 0
    assert "command:  rm -rf .git" in out
    assert "rm-protected-path (catastrophic)" in out
    assert out.endswith("risk:     catastrophic\ndecision: deny\n")
    assert (gitdir / ".git").is_dir()


def test_rules_test(gsh: Run) -> None:
    r = gsh("rules", "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert b" 0 failed" in r.stdout


def test_version(gsh: Run) -> None:
    r = gsh("version")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"guardsh {__version__}\n".encode(), b"")


# --- failing closed -----------------------------------------------------------------------

def home_with(tmp_path: Path, env: dict[str, str], files: dict[str, str]) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    for rel, text in files.items():
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    home.mkdir(exist_ok=True)
    return home, dict(env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))


BAD_RULES = {
    "invalid-yaml": ("rules:\n  - id: x\n    risk: [unclosed\n", ":4:"),
    "unknown-key": (
        "rules:\n  - id: local-thing\n    risk: destructive\n    reason: x\n    bogus_key: 1\n"
        "    match: {program: foo}\n    examples: {hit: [foo], miss: [bar]}\n", ":5:"),  # the bad key's own line
    "bad-example": (
        "rules:\n  - id: local-thing\n    risk: destructive\n    reason: x\n"
        "    match: {program: foo}\n    examples: {hit: [bar], miss: [baz]}\n", "local-thing"),
}


@pytest.mark.parametrize("kind", sorted(BAD_RULES))
def test_unloadable_rules_refuse_everything(gsh: Run, env: dict[str, str], tmp_path: Path, kind: str) -> None:
    text, where = BAD_RULES[kind]
    home, henv = home_with(tmp_path, env, {".config/guardsh/rules.d/bad.yaml": text})
    bad = str(home / ".config/guardsh/rules.d/bad.yaml")
    r = gsh("-c", "touch marker", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and r.stdout == b""
    err = r.stderr.decode()
    assert "rules failed to load" in err and bad in err and where in err
    assert not (tmp_path / "marker").exists()
    r = gsh(input=b"touch marker\n", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and not (tmp_path / "marker").exists()
    r = gsh("check", "--", "true", cwd=tmp_path, env=henv)
    assert r.returncode == 2 and bad.encode() in r.stderr
    r = gsh("rules", "test", cwd=tmp_path, env=henv)
    assert r.returncode != 0


LOCAL_RULE = (
    "rules:\n  - id: local-deploy\n    risk: destructive\n    reason: deploys to the shared staging host\n"
    "    match: {program: deploy-staging}\n    examples: {hit: [deploy-staging], miss: [deploy-dev]}\n")


def test_rules_in_xdg_config_home_are_loaded(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    home, henv = home_with(tmp_path, env, {"xdg/guardsh/rules.d/local.yaml": LOCAL_RULE})
    henv["XDG_CONFIG_HOME"] = str(home / "xdg")
    r = gsh("-c", "deploy-staging", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and b"local-deploy" in r.stderr
    r = gsh("check", "--json", "--", "deploy-staging", cwd=tmp_path, env=henv)
    assert b'"rule": "local-deploy"' in r.stdout
    r = gsh("rules", "list", cwd=tmp_path, env=henv)
    assert b"local-deploy" in r.stdout


def test_xdg_config_home_replaces_dot_config(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    """As the XDG specification says: with XDG_CONFIG_HOME set, ~/.config is not the config home."""
    home, henv = home_with(tmp_path, env, {".config/guardsh/rules.d/local.yaml": LOCAL_RULE})
    henv["XDG_CONFIG_HOME"] = str(home / "xdg")
    r = gsh("check", "--json", "--", "deploy-staging", cwd=tmp_path, env=henv)
    assert b"local-deploy" not in r.stdout


@pytest.mark.parametrize("kind", sorted(BAD_RULES))
def test_broken_rules_in_xdg_config_home_refuse_everything(gsh: Run, env: dict[str, str], tmp_path: Path,
                                                          kind: str) -> None:
    text, where = BAD_RULES[kind]
    home, henv = home_with(tmp_path, env, {"xdg/guardsh/rules.d/bad.yaml": text})
    henv["XDG_CONFIG_HOME"] = str(home / "xdg")
    bad = str(home / "xdg/guardsh/rules.d/bad.yaml")
    r = gsh("-c", "touch marker", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and r.stdout == b""
    err = r.stderr.decode()
    assert "rules failed to load" in err and bad in err and where in err
    assert not (tmp_path / "marker").exists()


def test_config_in_xdg_config_home_is_loaded(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    home, henv = home_with(tmp_path, env, {"xdg/guardsh/config.yaml": "profile: default\nbogus: 1\n"})
    henv["XDG_CONFIG_HOME"] = str(home / "xdg")
    r = gsh("-c", "touch marker", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and f"{home}/xdg/guardsh/config.yaml".encode() in r.stderr
    assert not (tmp_path / "marker").exists()


def test_broken_config_refuses_everything(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    home, henv = home_with(tmp_path, env, {".config/guardsh/config.yaml": "profile: default\nbogus: 1\n"})
    r = gsh("-c", "touch marker", cwd=tmp_path, env=henv)
    assert r.returncode == 126 and r.stdout == b""
    err = r.stderr.decode()
    assert "config failed to load" in err
    assert f"{home}/.config/guardsh/config.yaml:" in err and "'bogus'" in err
    assert not (tmp_path / "marker").exists()


def test_broken_config_names_the_line(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    home, henv = home_with(tmp_path, env, {".config/guardsh/config.yaml": "profile: default\nbogus: 1\n"})
    r = gsh("-c", "true", cwd=tmp_path, env=henv)
    assert f"{home}/.config/guardsh/config.yaml:2:".encode() in r.stderr


def test_a_crash_runs_nothing(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    """A rule cache that is fresh by its signature but malformed makes the classifier raise."""
    from guardsh.engine.rules import rule_dirs, rule_files, signature
    from guardsh.engine.ruleset import encode_cache

    home, henv = home_with(tmp_path, env, {})
    cache = home / ".cache" / "guardsh" / "rules.marshal"
    cache.parent.mkdir(parents=True)
    sig = signature(rule_files(rule_dirs(str(home))))
    broken = [{"match": {"program": ["touch"]}}]  # a rule with no id, unless, risk...
    cache.write_bytes(encode_cache(sig, {
        "by_program": {"touch": marshal.dumps(broken)}, "glob": marshal.dumps([]), "any": marshal.dumps([]),
        "all": marshal.dumps(broken), "programs": {}, "defaults": {}, "known": ["touch"],
        "with_subcommands": []}))
    r = gsh("-c", "touch marker", cwd=tmp_path, env=henv)
    assert r.returncode == 125, r.stderr
    assert r.stdout == b""
    assert b"internal error" in r.stderr and b"nothing was run" in r.stderr
    assert not (tmp_path / "marker").exists()


def test_interactive_on_a_terminal_starts_the_session(gsh: Run, env: dict[str, str], tmp_path: Path) -> None:
    """No command and stdin a terminal: the guarded session (tests/shell/test_session.py) runs the lines."""
    import pty

    master, slave = pty.openpty()
    try:
        os.write(master, b"exit 3\n")
        r = gsh(stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                env=dict(env, TERM="dumb"))
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 3
