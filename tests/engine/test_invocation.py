"""parse_shell_argv: which text bash runs, from where, with which $0/$@, for every argv shape.

Two layers: explicit expectations for the shapes agents use, and an oracle that runs the real
bash with the same argv and checks that guardsh's reading names the text bash actually ran.
A disagreement there is a bypass (guardsh classifies one text and bash runs another), so
shapes where they disagree are kept as strict xfails and reported.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from guardsh.engine.invocation import Invocation, parse_shell_argv

BASH = "/bin/bash"


def fields(inv: Invocation) -> dict[str, object]:
    return {k: getattr(inv, k) for k in Invocation.__slots__}


def expect(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "command": None, "name": None, "args": [], "script": None, "stdin": False, "interactive": False,
        "login": False, "noexec": False, "info": False, "error": None, "rcfile": None,
    }
    base.update(kw)
    return base


# --- explicit shapes ----------------------------------------------------------------------

@pytest.mark.parametrize("args, want", [
    (["-c", "echo hi"], expect(command="echo hi")),
    (["-c", "echo hi", "name"], expect(command="echo hi", name="name")),
    (["-c", "echo hi", "name", "a", "b c"], expect(command="echo hi", name="name", args=["a", "b c"])),
    (["-c", "echo hi", "-l"], expect(command="echo hi", name="-l")),  # after the text: $0, not an option
    (["-c", "echo hi", "--", "x"], expect(command="echo hi", name="--", args=["x"])),
    (["-c", ""], expect(command="")),
    (["-lc", "echo hi"], expect(command="echo hi", login=True)),
    (["-cl", "echo hi"], expect(command="echo hi", login=True)),
    (["-c", "-l", "echo hi"], expect(command="echo hi", login=True)),
    (["-l", "-c", "echo hi"], expect(command="echo hi", login=True)),
    (["--login", "-c", "echo hi"], expect(command="echo hi", login=True)),
    (["-e", "-c", "x"], expect(command="x")),
    (["-ec", "x"], expect(command="x")),
    (["-ce", "x"], expect(command="x")),
    (["-x", "-c", "x"], expect(command="x")),
    (["-eux", "-o", "pipefail", "-c", "x"], expect(command="x")),
    (["-o", "pipefail", "-c", "x"], expect(command="x")),
    (["+o", "pipefail", "-c", "x"], expect(command="x")),
    (["-co", "pipefail", "x"], expect(command="x")),  # -c, then -o takes the next word
    (["-O", "extglob", "-c", "x"], expect(command="x")),
    (["+O", "extglob", "-c", "x"], expect(command="x")),
    (["-o", "-c", "x"], expect(script="x")),  # -o swallows "-c"; bash rejects the option name
    (["--norc", "-c", "x"], expect(command="x")),
    (["--noprofile", "--norc", "-lc", "x"], expect(command="x", login=True)),
    (["--rcfile", "-c", "-c", "x"], expect(command="x", rcfile="-c")),  # --rcfile takes "-c" as its value
    (["--init-file", "f", "-c", "x"], expect(command="x", rcfile="f")),
    (["--posix", "-c", "x"], expect(command="x")),
    (["-c", "--", "x", "n", "a"], expect(command="x", name="n", args=["a"])),
    (["-c", "-", "x"], expect(command="x")),
    (["-i", "-c", "x"], expect(command="x", interactive=True)),
    (["-ic", "x"], expect(command="x", interactive=True)),
    (["-s", "-c", "x"], expect(command="x", stdin=True)),  # -c wins: the text, not stdin, runs
    (["script.sh"], expect(script="script.sh")),
    (["script.sh", "a", "b c"], expect(script="script.sh", args=["a", "b c"])),
    (["script.sh", "-c", "x"], expect(script="script.sh", args=["-c", "x"])),
    (["-e", "script.sh", "a"], expect(script="script.sh", args=["a"])),
    (["--", "script.sh", "a"], expect(script="script.sh", args=["a"])),
    (["-", "script.sh", "a"], expect(script="script.sh", args=["a"])),
    (["--", "-c", "x"], expect(script="-c", args=["x"])),
    ([], expect(stdin=True)),
    (["-s"], expect(stdin=True)),
    (["-s", "a", "b c"], expect(stdin=True, args=["a", "b c"])),
    (["-s", "--", "-a"], expect(stdin=True, args=["-a"])),
    (["-ls", "a"], expect(stdin=True, login=True, args=["a"])),
    (["-e"], expect(stdin=True)),
    (["-o"], expect(stdin=True)),  # bash lists the options, then reads stdin
    (["-n", "-c", "x"], expect(command="x", noexec=True)),
    (["-n", "script.sh"], expect(script="script.sh", noexec=True)),
    (["--version"], expect(stdin=True, info=True)),
    (["--help"], expect(stdin=True, info=True)),
    (["--version", "-c", "x"], expect(command="x", info=True)),
    (["-c"], expect(error="-c: option requires an argument")),
    (["-e", "-c"], expect(error="-c: option requires an argument")),
])
def test_shapes(args: list[str], want: dict[str, object]) -> None:
    assert fields(parse_shell_argv(args)) == want


@pytest.mark.parametrize("argv0, login", [("bash", False), ("-bash", True), ("-sh", True), ("sh", False),
                                          ("/usr/bin/bash", False), ("-", True)])
def test_login_from_argv0(argv0: str, login: bool) -> None:
    assert parse_shell_argv(["-c", "x"], argv0).login is login


@pytest.mark.parametrize("args, zero_default, want", [
    (["-c", "x"], "bash", {"0": "bash", "#": "0"}),
    (["-c", "x", "n"], "bash", {"0": "n", "#": "0"}),
    (["-c", "x", "n", "a", "b c"], "bash", {"0": "n", "#": "2", "1": "a", "2": "b c"}),
    (["s.sh", "a"], "bash", {"0": "s.sh", "#": "1", "1": "a"}),
    (["-s", "a", "b"], "/x/guardsh", {"0": "/x/guardsh", "#": "2", "1": "a", "2": "b"}),
    ([], "sh", {"0": "sh", "#": "0"}),
])
def test_params(args: list[str], zero_default: str, want: dict[str, str]) -> None:
    assert parse_shell_argv(args).params(zero_default) == want


def test_does_not_mutate_its_input() -> None:
    args = ["-o", "pipefail", "-c", "x", "n", "a"]
    copy = list(args)
    parse_shell_argv(args)
    assert args == copy


# --- the oracle: real bash -----------------------------------------------------------------

def probe(tag: str) -> str:
    """A text that says it ran, with $0, login and "$@" (fields split by \\037, args by \\036)."""
    return (f"printf 'RAN:%s\\037%s\\037%s\\037' {tag} \"$0\" \"$(shopt -q login_shell && echo L || echo N)\"; "
            "for a in \"$@\"; do printf '%s\\036' \"$a\"; done; echo")


C1, C2 = probe("cmd1"), probe("cmd2")
ARG_TAGS = {C1: "cmd1", C2: "cmd2"}


def where(inv: Invocation) -> str | None:
    """What guardsh thinks bash runs: a probe tag, 'script:NAME', 'stdin', or None (nothing)."""
    if inv.info or inv.noexec or inv.error:
        return None
    if inv.command is not None:
        return ARG_TAGS.get(inv.command, f"text:{inv.command}")
    if inv.script is not None:
        return f"script:{inv.script}"
    return "stdin"


def run_bash(argv0: str, args: list[str], cwd: Path, home: Path) -> tuple[str, str, bool, list[str]] | None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}
    proc = subprocess.run([argv0, *args], executable=BASH, input=probe("stdin").encode() + b"\n",
                          cwd=cwd, env=env, capture_output=True, timeout=20)
    lines = [ln for ln in proc.stdout.decode().split("\n") if ln.startswith("RAN:")]
    assert len(lines) <= 1, proc
    if not lines:
        return None
    tag, zero, login, rest = lines[0][4:].split("\x1f", 3)
    return tag, zero, login == "L", rest.split("\x1e")[:-1]



SHAPES = [
    ("bash", ["-c", C1]),
    ("bash", ["-c", C1, "name"]),
    ("bash", ["-c", C1, "name", "a", "b c"]),
    ("bash", ["-c", C1, C2]),
    ("bash", ["-c", C1, "-l"]),
    ("bash", ["-c", C1, "--", "x"]),
    ("bash", ["-lc", C1]),
    ("bash", ["-cl", C1]),
    ("bash", ["-c", "-l", C1]),
    ("bash", ["-l", "-c", C1]),
    ("bash", ["--login", "-c", C1]),
    ("bash", ["-e", "-c", C1]),
    ("bash", ["-ec", C1, "n", "a"]),
    ("bash", ["-x", "-c", C1]),
    ("bash", ["-v", "-c", C1]),
    ("bash", ["-eux", "-o", "pipefail", "-c", C1]),
    ("bash", ["-o", "pipefail", "-c", C1]),
    ("bash", ["+o", "pipefail", "-c", C1]),
    ("bash", ["-co", "pipefail", C1]),
    ("bash", ["-O", "extglob", "-c", C1]),
    ("bash", ["+O", "extglob", "-c", C1]),
    ("bash", ["--norc", "-c", C1]),
    ("bash", ["--noprofile", "--norc", "-lc", C1]),
    ("bash", ["--rcfile", "sB", "-c", C1]),
    ("bash", ["--init-file", "sB", "-c", C1]),
    ("bash", ["--posix", "-c", C1]),
    ("bash", ["--restricted", "-c", C1]),
    ("bash", ["-r", "-c", C1]),
    ("bash", ["-c", "--", C1, "n", "a"]),
    ("bash", ["-c", "-", C1]),
    ("bash", ["-i", "-c", C1]),
    ("bash", ["-s", "-c", C1]),
    ("bash", ["-n", "-c", C1]),
    ("bash", ["-D", "-c", C1]),
    ("bash", ["--version", "-c", C1]),
    ("bash", ["--help"]),
    ("bash", ["-c"]),
    ("bash", ["-Z", "-c", C1]),
    ("bash", ["sA"]),
    ("bash", ["sA", "a", "b c"]),
    ("bash", ["sA", "-c", C1]),
    ("bash", ["-e", "sA", "a"]),
    ("bash", ["-x", "sA"]),
    ("bash", ["--", "sA", "a"]),
    ("bash", ["-", "sA", "a"]),
    ("bash", ["-l", "sA"]),
    ("bash", []),
    ("bash", ["-s"]),
    ("bash", ["-s", "a", "b c"]),
    ("bash", ["-s", "--", "-a"]),
    ("bash", ["-ls", "a"]),
    ("bash", ["-o"]),
    ("bash", ["-e"]),
    ("-bash", ["-c", C1]),
    ("-bash", ["sA", "a"]),
    ("-sh", ["-c", C1]),
    ("sh", ["-c", C1, "n"]),
    ("bash", ["-oc", "pipefail", C1]),
    ("bash", ["-Oc", "extglob", C1]),
    ("bash", ["-ol", "pipefail", "-c", C1]),
    ("bash", ["+c", C1]),
    ("bash", ["+l", "-c", C1]),
    ("bash", ["-login", "-c", C1]),
    ("bash", ["-norc", "-c", C1]),
    ("bash", ["-noprofile", "-c", C1]),
    ("bash", ["-rcfile", "sB", "-c", C1]),
    ("bash", ["-init-file", "sB", "-c", C1]),
    ("bash", ["-posix", "-c", C1]),
    ("bash", ["-verbose", "-c", C1]),
    ("bash", ["-noediting", "-c", C1]),
]


@pytest.fixture()
def oracle_dir(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    for name in ("sA", "sB"):
        (work / name).write_text(probe(f"script:{name}") + "\n")
    return work, home


def shape_id(value: object) -> str:
    if isinstance(value, list):
        return " ".join({C1: "CMD1", C2: "CMD2"}.get(a, repr(a) if " " in a or not a else a) for a in value) or "(none)"
    return str(value)


@pytest.mark.parametrize("argv0, args", SHAPES, ids=shape_id)
def test_agrees_with_real_bash(argv0: str, args: list[str], oracle_dir: tuple[Path, Path]) -> None:
    """If bash runs a text, guardsh names that same text, with bash's $0, $@ and login mode."""
    work, home = oracle_dir
    ran = run_bash(argv0, args, work, home)
    inv = parse_shell_argv(args, argv0)
    if ran is None:
        return  # bash ran nothing: whatever guardsh classifies, nothing unclassified runs
    tag, zero, login, params = ran
    assert where(inv) == tag
    p = inv.params(argv0)
    assert p["0"] == zero
    assert [p[str(k)] for k in range(1, int(p["#"]) + 1)] == params
    assert inv.login == login


@pytest.mark.parametrize("argv0, args", [
    ("bash", ["-n", "-c", C1]),
    ("bash", ["--version", "-c", C1]),
    ("bash", ["-c"]),
    ("bash", ["-n", "sA"]),
])
def test_shapes_that_run_nothing(argv0: str, args: list[str], oracle_dir: tuple[Path, Path]) -> None:
    """guardsh hands these to bash unclassified: bash must really run nothing."""
    work, home = oracle_dir
    inv = parse_shell_argv(args, argv0)
    assert where(inv) is None
    assert run_bash(argv0, args, work, home) is None
