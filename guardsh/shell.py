"""guardsh as the agent's shell: take bash's argv, classify what it will run, exec or refuse."""
from __future__ import annotations

import os
import sys

from guardsh.config import Config, ConfigError, load_config
from guardsh.execute import ExecError, exec_bash, real_bash, text_hash, trusted_hashes
from guardsh.invocation import parse_shell_argv
from guardsh.model import Decision

EXIT_REFUSED = 126
EXIT_INTERNAL = 125


def exec_name(argv0: str) -> str:
    """The argv[0] bash gets, so that ``$0`` and login/sh dispatch are what the caller asked for."""
    return "guardsh" if argv0.endswith("__main__.py") else argv0


def run_shell(argv0: str, args: list[str]) -> int:
    """Classify and exec; returns only when the command is refused or guardsh fails."""
    inv = parse_shell_argv(args, os.path.basename(argv0))
    name = exec_name(argv0)
    try:
        config = load_config()
        config_error = None
    except ConfigError as e:
        config, config_error = Config(), str(e)
    try:
        bash = real_bash(config.bash, (sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", "")))
    except ExecError as e:
        sys.stderr.write(f"guardsh: {e}; nothing was run\n")
        return EXIT_INTERNAL
    if inv.info or inv.noexec or inv.error:
        exec_bash(bash, name, args, [])  # bash prints its version, checks syntax or reports the error
    stdin_data: bytes | None = None
    params = None
    if inv.command is not None:
        text = inv.command
        params = inv.params(name)
    elif inv.script is not None:
        try:
            with open(inv.script, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            exec_bash(bash, name, args, [])  # bash reports the missing script; nothing runs
        params = inv.params(name)
    else:
        if os.isatty(0):
            sys.stderr.write(
                "guardsh: an interactive session needs a terminal guard that this version does not have yet;\n"
                "guardsh: run commands with guardsh -c 'COMMAND' (nothing was run)\n"
            )
            return EXIT_REFUSED
        stdin_data = _read_all(0)
        text = stdin_data.decode("utf-8", errors="replace")
    if text_hash(text) in trusted_hashes(os.environ):
        exec_bash(bash, name, args, [text], stdin_data)
    if config_error:
        sys.stderr.write(f"guardsh: the config failed to load, so every command is refused:\n{config_error}\n")
        return EXIT_REFUSED
    verdict = classify_for_shell(text, config, params, stdin_is_tty=os.isatty(0) if stdin_data is None else True)
    if verdict is None:
        return EXIT_REFUSED
    if verdict.decision == Decision.ALLOW:
        exec_bash(bash, name, args, list(verdict.texts), stdin_data)
    from guardsh.report import refusal

    why = None
    if verdict.decision == Decision.ASK:
        why = "No approver console is running, so this version refuses what needs approval."
    sys.stderr.write(refusal(verdict, why))
    return EXIT_REFUSED


def classify_for_shell(text: str, config: Config, params: dict[str, str] | None, stdin_is_tty: bool):  # type: ignore[no-untyped-def]
    from guardsh.classify import Classifier, Context
    from guardsh.rules import RuleError, load_rules

    try:
        rules = load_rules()
    except RuleError as e:
        sys.stderr.write(
            "guardsh: the rules failed to load, so every command is refused until they are fixed\n"
            "guardsh: (check them with: guardsh rules test)\n" + "\n".join(e.problems[:20]) + "\n"
        )
        return None
    bash_env = os.environ.get("BASH_ENV")
    classified = text
    if bash_env:
        # bash sources $BASH_ENV before a non-interactive command: it runs too.
        classified = f"source {_quote(bash_env)}\n{text}"
    ctx = Context(os.getcwd(), config, stdin_is_tty=stdin_is_tty)
    verdict = Classifier(rules, config).classify(classified, ctx, params)
    return verdict


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
