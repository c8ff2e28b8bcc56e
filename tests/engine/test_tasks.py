"""Task runners (issue 12): make, npm/pnpm/yarn, just, tox, poetry and Taskfiles run what their
files say, and that is what is classified, in the directory the runner runs it in."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict

MAKEFILE = """\
OUT ?= dist
TARGET = $(OUT)/app

.PHONY: all build test clean nuke deploy

all: build

build:
\tmkdir -p $(OUT) && cc -o $(TARGET) main.c

test: build
\t@echo testing
\t-./run-tests

clean:
\trm -rf $(OUT)

nuke:
\trm -rf $(HOME)/

deploy: wipe
\techo deployed

include extra.mk
"""
EXTRA = "wipe:\n\trm -rf src\n"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    p = home / "proj"
    (p / "src").mkdir(parents=True)
    (p / "src" / "main.c").write_text("int main(){}\n")
    (p / "Makefile").write_text(MAKEFILE)
    (p / "extra.mk").write_text(EXTRA)
    return p


def decide(classify_in: Callable[..., Verdict], text: str, cwd: Path) -> str:
    return classify_in(text, str(cwd), home=str(cwd.parent)).decision.label


@pytest.mark.parametrize("text, expect", [
    ("make", "allow"),  # the first target: all -> build (an include at the top would make wipe the first)
    ("make test", "allow"),
    ("make clean", "allow"),  # rm -rf dist: regenerable output
    ("make clean OUT=src", "ask"),  # a command-line variable wins
    ("make nuke", "deny"),  # $(HOME) comes from the environment
    ("make deploy", "ask"),  # a prerequisite from an included makefile
    ("make -n nuke", "allow"),  # -n prints, runs nothing
    ("make --dry-run deploy", "allow"),
    ("make -C .. -f proj/Makefile nuke", "deny"),
    ("make -f missing.mk nuke", "allow"),  # make: no such file; nothing runs
])
def test_make(classify_in: Callable[..., Verdict], proj: Path, text: str, expect: str) -> None:
    assert decide(classify_in, text, proj) == expect, text


def test_make_shell_function_runs_when_read(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "Makefile").write_text("X := $(shell rm -rf src)\nall:\n\techo $(X)\n")
    assert decide(classify_in, "make", proj) == "ask"


def test_make_in_another_directory(classify_in: Callable[..., Verdict], proj: Path) -> None:
    """cd sub && make reads sub's Makefile, and runs its recipes there."""
    sub = proj / "sub"
    sub.mkdir()
    (sub / "Makefile").write_text("clean:\n\trm -rf ../src\n")
    assert decide(classify_in, "cd sub && make clean", proj) == "ask"
    assert decide(classify_in, "make -C sub clean", proj) == "ask"
    (sub / "Makefile").write_text("clean:\n\trm -rf build\n")
    assert decide(classify_in, "cd sub && make clean", proj) == "allow"


def test_npm_scripts_with_hooks(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "package.json").write_text(
        '{"scripts": {"pretest": "echo pre", "test": "jest", "posttest": "rm -rf ~/", '
        '"build": "tsc", "prebuild": "rm -rf dist", "lint": "eslint . && rm -rf src"}}')
    assert decide(classify_in, "npm test", proj) == "deny"  # posttest runs after test
    assert decide(classify_in, "npm run build", proj) == "allow"
    assert decide(classify_in, "pnpm run lint", proj) == "ask"
    assert decide(classify_in, "yarn lint", proj) == "ask"  # yarn runs a script by its bare name
    assert decide(classify_in, "npm run missing-script", proj) == "allow"  # npm: missing script; nothing runs
    assert decide(classify_in, "npm run --prefix . build", proj) == "allow"


def test_npm_unreadable_package_json_asks(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "package.json").write_text('{"scripts": {"test": ')
    assert decide(classify_in, "npm test", proj) == "ask"


def test_just(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "justfile").write_text("default: build\n\nbuild:\n    cargo build\n\nclean: build\n    rm -rf src\n")
    assert decide(classify_in, "just", proj) == "allow"
    assert decide(classify_in, "just clean", proj) == "ask"
    assert decide(classify_in, "just --dry-run clean", proj) == "allow"


def test_tox_and_poetry(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "tox.ini").write_text("[tox]\nenvlist = py\n\n[testenv]\ncommands = pytest\n\n"
                                  "[testenv:clean]\ncommands =\n    rm -rf src\n")
    assert decide(classify_in, "tox", proj) == "allow"
    assert decide(classify_in, "tox -e clean", proj) == "ask"
    assert decide(classify_in, "poetry run pytest -q", proj) == "allow"
    assert decide(classify_in, "poetry run rm -rf src", proj) == "ask"


def test_taskfile(classify_in: Callable[..., Verdict], proj: Path) -> None:
    (proj / "Taskfile.yml").write_text("version: '3'\ntasks:\n  build:\n    cmds:\n      - go build ./...\n"
                                       "  clean:\n    deps: [build]\n    cmds:\n      - rm -rf src\n")
    assert decide(classify_in, "task build", proj) == "allow"
    assert decide(classify_in, "task clean", proj) == "ask"


def test_a_runner_file_written_by_the_command_is_read_from_it(classify_in: Callable[..., Verdict], proj: Path) -> None:
    assert decide(classify_in, "printf 'x:\\n\\trm -rf src\\n' > gen.mk && make -f gen.mk x", proj) == "ask"
    assert decide(classify_in, "printf 'x:\\n\\techo ok\\n' > gen.mk && make -f gen.mk x", proj) == "allow"


def test_runners_never_run_from_the_example_context(classify: Callable[[str], Verdict]) -> None:
    """Where files are not read (rule examples, offline logs), a runner is judged by its own rules."""
    assert classify("make test").decision == Decision.ALLOW
