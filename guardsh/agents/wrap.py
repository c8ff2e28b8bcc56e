"""``guardsh wrap [--] PROGRAM ARGS...``: run an agent so that every shell and high-risk tool it
starts goes through guardsh.

wrap keeps a private directory of links to the guardsh launcher (``bash``, ``sh`` and shims
named after high-risk tools), points ``SHELL`` and ``CLAUDE_CODE_SHELL`` at the ``bash`` link,
puts the directory first on ``PATH`` and execs PROGRAM.  A shim is the launcher started under a
tool's name (``rm``, ``git``, ``kubectl`` ...): it classifies ``TOOL ARGS`` like ``guardsh -c``
does (approval and audit included) and then runs the real tool, found later on PATH, never a
link to guardsh itself.

The shims themselves are ``guardsh.agents.shims``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys

from guardsh import paths
from guardsh.agents.shims import EXIT_INTERNAL, EXIT_NOT_FOUND, WRAP_DIR_VAR, WRAP_SHIMS
from guardsh.shell.execute import prepare_exec

SHELL_LINKS = ("bash", "sh")

USAGE = "usage: guardsh wrap [--] PROGRAM [ARGS...]\n"


# --- guardsh wrap -----------------------------------------------------------------------------

def main(args: list[str]) -> int:
    if args and args[0] == "--":
        args = args[1:]
    elif args and args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE + __doc__.split("\n\n", 1)[1])
        return 0
    if not args:
        sys.stderr.write(USAGE)
        return 2
    why = cannot_guard(args[0])
    if why:
        sys.stderr.write(f"guardsh wrap: {why}\nNothing was run.\n")
        return 2
    try:
        launcher = find_launcher()
        directory = link_dir(launcher)
    except WrapError as e:
        sys.stderr.write(f"guardsh wrap: {e}; nothing was run\n")
        return EXIT_INTERNAL
    env = wrapped_env(os.environ, directory, launcher)
    prepare_exec()
    try:
        os.execvpe(args[0], args, env)
    except OSError as e:
        sys.stderr.write(f"guardsh wrap: {args[0]}: {e.strerror or e}\n")
        return EXIT_NOT_FOUND if isinstance(e, FileNotFoundError) else 126
    return EXIT_INTERNAL  # unreachable


# Agents that wrap cannot guard: they choose their shell in a way SHELL and PATH do not reach.
CANNOT_GUARD = {
    "codex": ("Codex takes its shell from your login shell (/etc/passwd), not from SHELL or PATH, so "
              "guardsh wrap would guard nothing but Codex's own git calls. Use one of:\n"
              "  guardsh hook install codex     (a PreToolUse hook; guardsh records Codex's trust for it)\n"
              "  the login shell: install with GUARDSH_SYSTEM_LINKS=1 and chsh -s /usr/local/lib/guardsh/bin/bash"),
}


def cannot_guard(program: str) -> str | None:
    """Why ``guardsh wrap`` cannot guard ``program`` (None: it can)."""
    name = os.path.basename(program)
    if name in CANNOT_GUARD:
        return CANNOT_GUARD[name]
    try:  # npm's bin links: .../node_modules/@openai/codex/bin/codex.js
        real = os.path.realpath(program if "/" in program else (shutil.which(program) or program))
    except OSError:
        return None
    for key, why in CANNOT_GUARD.items():
        if os.path.basename(real) in (key, f"{key}.js"):
            return why
    return None


class WrapError(Exception):
    pass


def find_launcher() -> str:
    """What the links point to: the native client install.sh built (it falls back to the Python
    guardsh with the same name), else this process's launcher, else $GUARDSH_LAUNCHER, else PATH."""
    candidates = [paths.native_client() or "", sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", "")]
    import shutil

    candidates.append(shutil.which("guardsh") or "")
    for path in candidates:
        if not path or path.endswith("__main__.py") or os.path.basename(path) in SHELL_LINKS + WRAP_SHIMS:
            continue
        path = os.path.abspath(path)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise WrapError("cannot find the guardsh launcher (install guardsh with install.sh or set GUARDSH_LAUNCHER)")


def link_dir(launcher: str) -> str:
    """A private directory (mode 0700, ours) holding the links; made or repaired as needed."""
    key = hashlib.sha256(launcher.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    directory = paths.wrap_dir(key)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise WrapError(f"{directory} is not a directory of ours")
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(directory, 0o700)
        for name in SHELL_LINKS + WRAP_SHIMS:
            path = os.path.join(directory, name)
            try:
                if os.readlink(path) == launcher:
                    continue
            except OSError:
                pass
            tmp = f"{path}.{os.getpid()}.tmp"
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            os.symlink(launcher, tmp)
            os.replace(tmp, path)  # atomic: a concurrent wrap never sees a missing link
    except OSError as e:
        raise WrapError(f"cannot prepare {directory}: {e.strerror or e}") from e
    return directory


def wrapped_env(env: dict[str, str] | os._Environ[str], directory: str, launcher: str) -> dict[str, str]:
    out = dict(env)
    path = [p for p in out.get("PATH", os.defpath).split(":") if p and os.path.abspath(p) != directory]
    out["PATH"] = ":".join([directory] + path)
    bash = os.path.join(directory, "bash")
    out["SHELL"] = bash
    out["CLAUDE_CODE_SHELL"] = bash
    out["GUARDSH_LAUNCHER"] = launcher
    out[WRAP_DIR_VAR] = directory
    return out
