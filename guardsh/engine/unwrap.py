"""Look inside wrappers: the commands that ``sudo``, ``xargs``, ``find -exec``, ``bash -c``,
``eval``, ``ssh``, ``kubectl exec``, scripts and sourced files will run.

``expand`` turns parsed simple commands into the list that rules classify.  A wrapper that
only runs another command (``sudo``, ``env``, ``timeout``, ``bash -c``...) is replaced by
what it runs; one that acts by itself too (``find``, ``ssh``, ``kubectl exec``) is kept
beside what it runs.  What cannot be seen through (``eval "$x"``, ``$CMD``, a pipe into a
shell, a missing script) is reported as a problem, which makes the verdict ask.
"""
from __future__ import annotations

from guardsh.engine.expansion import MAX_DEPTH, SHELLS, Expansion, Reader
from guardsh.engine.model import Command
from guardsh.engine.runners import env_loaders, handle_runner, unknown_tail
from guardsh.engine.tasks import TASK_HANDLERS
from guardsh.engine.remote import (
    handle_bundled_kubectl,
    handle_docker,
    handle_git,
    handle_kubectl,
    handle_ssh,
)
from guardsh.engine.shells import (
    handle_alias,
    handle_eval,
    handle_script,
    handle_shell,
    handle_source,
    handle_trap,
)
from guardsh.engine.wrappers import (
    handle_command,
    handle_env,
    handle_exec,
    handle_find,
    handle_flock,
    handle_parallel,
    handle_su,
    handle_sudo,
    handle_watch,
    handle_xargs,
    simple_wrapper,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable


def expand_one(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    if depth > MAX_DEPTH:
        out.problem("wrappers nested too deep to analyse", cmd)
        out.worsen("opaque")
        return
    if not cmd.words:
        out.commands.append(cmd)
        return
    first = cmd.words[0]
    if first.dynamic:
        out.problem(f"the program is named by an expansion ({first.value}): guardsh cannot tell what runs", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    if first.glob:
        out.problem(f"the program is a pattern ({first.value}): bash expands it to a name guardsh cannot see", cmd)
        out.worsen("opaque")
        out.commands.append(cmd)
        return
    prog = cmd.program
    rules = out.rules
    if rules is not None:  # issue 13: the runner table and the env loaders, from the rule files
        if cmd.assignments or (out.state is not None and out.state.exported):
            env_loaders(rules.env_loaders, cmd, reader, out, depth)
        entries = rules.runners.get(prog)
        if entries is not None and handle_runner(entries, cmd, reader, out, depth):
            return
    handler = HANDLERS.get(prog)
    if handler is None and prog in SHELLS:
        handler = handle_shell
    if handler is not None:
        handler(cmd, reader, out, depth)
        return
    if "/" in first.value and not first.glob:
        handle_script(cmd, reader, out, depth)
        return
    out.commands.append(cmd)
    if rules is not None and len(cmd.words) > 2 and not rules.is_known(prog):
        unknown_tail(rules, cmd, reader, out, depth)


def _lazy(name: str) -> Callable[[Command, Reader, Expansion, int], None]:
    """A handler from guardsh.engine.inline (SQL, Redis, MongoDB, interpreter code), imported on first use."""

    def handler(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        from guardsh.engine import inline

        getattr(inline, name)(cmd, reader, out, depth)

    return handler


INLINE_HANDLERS = {
    **dict.fromkeys(("psql", "mysql", "mariadb", "sqlite3"), _lazy("sql_cli")),
    "redis-cli": _lazy("redis_cli"), "valkey-cli": _lazy("redis_cli"),
    **dict.fromkeys(("mongosh", "mongo"), _lazy("mongo_cli")),
    **dict.fromkeys(("python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "node", "nodejs", "deno",
                     "php") + tuple(f"python3.{v}" for v in range(6, 16)), _lazy("interpreter")),
}


HANDLERS: dict[str, Callable[[Command, Reader, Expansion, int], None]] = {
    "sudo": handle_sudo,
    "doas": handle_sudo,
    "env": handle_env,
    "nice": simple_wrapper("n", frozenset({"--adjustment"}), numeric_ok=True),
    "ionice": simple_wrapper("cnpPu", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"})),
    "nohup": simple_wrapper(""),
    "timeout": simple_wrapper("sk", frozenset({"--signal", "--kill-after"}), positionals=1),
    "time": simple_wrapper("fo", frozenset({"--format", "--output"})),
    "command": handle_command,
    "builtin": simple_wrapper(""),
    "exec": handle_exec,
    "stdbuf": simple_wrapper("ioe", frozenset({"--input", "--output", "--error"})),
    "setsid": simple_wrapper(""),
    "unbuffer": simple_wrapper(""),
    "chrt": simple_wrapper("", positionals=1),
    "taskset": simple_wrapper("", positionals=1),
    "chroot": simple_wrapper("", frozenset({"--userspec", "--groups"}), positionals=1),
    "xargs": handle_xargs,
    "parallel": handle_parallel,
    "find": handle_find,
    "ssh": handle_ssh,
    "git": handle_git,
    "kubectl": handle_kubectl,
    "oc": handle_kubectl,
    "microk8s": handle_bundled_kubectl,
    "microk8s.kubectl": simple_wrapper(""),
    "k3s": handle_bundled_kubectl,
    "minikube": handle_bundled_kubectl,
    "docker": handle_docker,
    "podman": handle_docker,
    "nerdctl": handle_docker,
    "docker-compose": handle_docker,
    "eval": handle_eval,
    "source": handle_source,
    ".": handle_source,
    "trap": handle_trap,
    "alias": handle_alias,
    "su": handle_su,
    "runuser": handle_su,
    "watch": handle_watch,
    "flock": handle_flock,
    **INLINE_HANDLERS,
    **TASK_HANDLERS,  # make, npm/pnpm/yarn scripts, just, tox, poetry run, task (issue 12)
}
