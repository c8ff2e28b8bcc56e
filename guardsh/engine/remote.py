"""Programs that run a command somewhere else, and are kept beside it: ``ssh host CMD``, git's own
shell commands (``submodule foreach``, ``rebase --exec``, ``bisect run``), ``kubectl exec|debug|run
-- CMD``, bundled kubectls, ``docker exec``."""
from __future__ import annotations

from guardsh.engine.expansion import Expansion, Reader, expand_one, inner_command, inner_text, join_words, skip_options
from guardsh.engine.gitalias import expand_alias
from guardsh.engine.model import Command, Word

SSH_VALUE_OPTIONS = "bcDEeFIiJLlmOopQRSWwB"


def handle_ssh(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    i = skip_options(cmd.words, 1, SSH_VALUE_OPTIONS)
    if i + 1 < len(cmd.words):
        host = cmd.words[i].value
        j = skip_options(cmd.words, i + 1, SSH_VALUE_OPTIONS)  # ssh reads options after the host too
        remote = cmd.words[j:]
        text = " ".join(w.value for w in remote)
        if any(w.dynamic for w in remote):
            out.problem("the remote command holds expansions made before ssh sends it", cmd)
        inner_text(cmd.replace(redirects=(), stdin=None), text, f"ssh {host}", out, reader, depth, scope="remote")


GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env"})


def handle_git(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """git itself, and the shell commands git runs for it: ``submodule foreach CMD``,
    ``rebase --exec CMD`` / ``-x CMD``, ``bisect run CMD ARGS``."""
    out.commands.append(cmd)
    words = cmd.words
    values = [w.value for w in words]
    i = 1
    while i < len(values) and values[i].startswith("-"):
        i += 2 if values[i] in GIT_VALUE_OPTIONS else 1
    if i >= len(values):
        return
    sub = values[i]
    plain = cmd.replace(redirects=(), stdin=None)
    if sub == "submodule" and "foreach" in values[i + 1:]:
        k = values.index("foreach", i + 1) + 1
        while k < len(values) and values[k] in ("--recursive", "-q", "--quiet"):
            k += 1
        if k < len(words):
            inner_text(plain, " ".join(values[k:]), "git submodule foreach", out, reader, depth)
    elif sub == "rebase":
        for k in range(i + 1, len(values)):
            v = values[k]
            if v in ("-x", "--exec") and k + 1 < len(values):
                inner_text(plain, values[k + 1], "git rebase --exec", out, reader, depth)
            elif v.startswith("--exec="):
                inner_text(plain, v.partition("=")[2], "git rebase --exec", out, reader, depth)
    elif sub == "bisect" and i + 1 < len(values) and values[i + 1] == "run":
        inner_command(plain, i + 2, "git bisect run", out, reader, depth)
    else:
        expand_alias(cmd, i, reader, out, depth)  # git NAME: an alias runs what it names


def handle_kubectl(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """kubectl itself, and the command after ``--`` of exec, debug and run (which runs in a
    container, or on the node for ``kubectl debug node/...``)."""
    out.commands.append(cmd)
    values = [w.value for w in cmd.words]
    if "--" in values:
        k = values.index("--")
        verbs = [v for v in values[1:k] if v in ("exec", "debug", "run", "attach")]
        if verbs:
            inner_command(cmd.replace(redirects=()), k + 1, f"{cmd.program} {verbs[0]}", out, reader, depth)
    elif cmd.program == "oc" and len(values) > 2 and values[1] == "rsh":
        i = skip_options(cmd.words, 2, "c", frozenset({"--container", "--shell", "--timeout"}))
        inner_command(cmd.replace(redirects=()), i + 1, "oc rsh", out, reader, depth)


def handle_bundled_kubectl(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``microk8s kubectl ...``, ``k3s kubectl ...``, ``minikube kubectl -- ...``: the
    bundled CLI is the real one."""
    values = [w.value for w in cmd.words]
    if len(values) > 1 and values[1] in ("kubectl", "helm", "helm3", "ctr", "crictl", "oc"):
        start = 1
        if cmd.program == "minikube" and "--" in values:
            rest = cmd.words[values.index("--") + 1:]
            inner = cmd.replace(words=(Word("kubectl"),) + rest, via=cmd.via + ("minikube",),
                                text=join_words((Word("kubectl"),) + rest))
            expand_one(inner, reader, out, depth + 1)
            return
        inner_command(cmd, start, cmd.program, out, reader, depth)
        return
    out.commands.append(cmd)


COMPOSE_OPTIONS = frozenset({"--file", "--project-name", "--profile", "--env-file", "--project-directory"})


def handle_docker(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """docker/podman itself, and the command of ``docker [container] exec C CMD`` and
    ``docker compose exec`` / ``docker-compose exec SERVICE CMD``."""
    out.commands.append(cmd)
    words = cmd.words
    if cmd.program == "docker-compose":
        i = skip_options(words, 1, "fp", COMPOSE_OPTIONS)
    else:
        i = skip_options(words, 1, "cHl", frozenset({"--context", "--host", "--config", "--log-level"}))
        if i < len(words) and words[i].value == "compose":
            i = skip_options(words, i + 1, "fp", COMPOSE_OPTIONS)
        elif i < len(words) and words[i].value == "container":
            i += 1
    if i < len(words) and words[i].value == "exec":
        j = skip_options(words, i + 1, "euw", frozenset({"--env", "--env-file", "--user", "--workdir",
                                                           "--detach-keys", "--index"}))
        inner_command(cmd.replace(redirects=()), j + 1, f"{cmd.program} exec", out, reader, depth)
