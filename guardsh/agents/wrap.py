"""``guardsh wrap [--] PROGRAM ARGS...``: run an agent so that every shell and high-risk tool it
starts goes through guardsh.

wrap keeps a private directory of links to the guardsh launcher (``bash``, ``sh`` and shims
named after high-risk tools), points ``SHELL`` and ``CLAUDE_CODE_SHELL`` at the ``bash`` link,
puts the directory first on ``PATH`` and execs PROGRAM.  A shim is the launcher started under a
tool's name (``rm``, ``git``, ``kubectl`` ...): it classifies ``TOOL ARGS`` like ``guardsh -c``
does (approval and audit included) and then runs the real tool, found later on PATH, never a
link to guardsh itself.

A shim started by a bash that guardsh itself exec'd (``guardsh -c 'cd x && rm -rf y'``) runs
the tool directly: that command line was already classified (and approved) as a whole.  Only
bash's own children (through bash subshells) qualify; a tool started by anything else (a Python
program, make, xargs) is classified again.  Known limit: a program that such a bash ran and that
then *execs* a tool in place (no fork) passes for bash's child.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import signal
import stat
import sys

from guardsh import paths
from guardsh.cli import WRAP_SHIMS
from guardsh.shell.execute import NEST_VAR, ExecError, is_guardsh, real_bash, start_time, trusted_hashes

SHELL_LINKS = ("bash", "sh")
WRAP_DIR_VAR = "GUARDSH_WRAP_DIR"
EXIT_INTERNAL = 125
EXIT_NOT_FOUND = 127

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
    try:
        launcher = find_launcher()
        directory = link_dir(launcher)
    except WrapError as e:
        sys.stderr.write(f"guardsh wrap: {e}; nothing was run\n")
        return EXIT_INTERNAL
    env = wrapped_env(os.environ, directory, launcher)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    for sig in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvpe(args[0], args, env)
    except OSError as e:
        sys.stderr.write(f"guardsh wrap: {args[0]}: {e.strerror or e}\n")
        return EXIT_NOT_FOUND if isinstance(e, FileNotFoundError) else 126
    return EXIT_INTERNAL  # unreachable


class WrapError(Exception):
    pass


def find_launcher() -> str:
    """The launcher the links point to: this process's own, else $GUARDSH_LAUNCHER, else PATH."""
    candidates = [sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", "")]
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


# --- a shim: TOOL ARGS ------------------------------------------------------------------------

def find_real_tool(name: str, env: dict[str, str] | os._Environ[str], self_paths: tuple[str, ...]) -> str | None:
    """The first ``name`` on PATH that is not guardsh (not a link to the launcher, not a launcher)."""
    skip = {os.path.abspath(p) for p in (env.get(WRAP_DIR_VAR, ""),) if p}
    for d in env.get("PATH", os.defpath).split(":"):
        d = d or "."
        if os.path.abspath(d) in skip:
            continue
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and not is_guardsh(candidate, self_paths):
            return candidate
    return None


def run_shim(argv0: str, args: list[str]) -> int:
    """Classify ``TOOL ARGS``; run the real tool if allowed (or approved), else refuse (126)."""
    from guardsh.engine.config import ConfigError, load_config

    name = os.path.basename(argv0)
    self_paths = (argv0, sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", ""))
    real = find_real_tool(name, os.environ, self_paths)
    if real is None:
        sys.stderr.write(f"guardsh: {name}: command not found (no real {name} on PATH after guardsh's shims)\n")
        return EXIT_NOT_FOUND
    try:
        bash_path = real_bash(load_config().bash, self_paths)
    except ConfigError:
        bash_path = None  # run_shell below refuses everything when the config is broken
    except ExecError as e:
        sys.stderr.write(f"guardsh: {e}; nothing was run\n")
        return EXIT_INTERNAL
    if bash_path and started_by_guarded_bash(bash_path):
        _exec(real, [name] + args)
    # Classified and run exactly as `guardsh -c '/path/to/TOOL ARGS'` (approval and audit included):
    # the bash that runs it execs the tool in place.
    from guardsh.shell.main import run_shell

    text = shlex.join([real] + args)
    return run_shell("bash", ["-c", text])


def started_by_guarded_bash(bash_path: str) -> bool:
    """Is this process a child (through bash subshells only) of a bash that guardsh exec'd after
    classifying its whole command text?  The token must be genuine (see execute.trusted_hashes)."""
    token = os.environ.get(NEST_VAR, "")
    if not token or not trusted_hashes(os.environ):
        return False
    try:
        pid = int(token.split(":", 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # bash ran this tool as its last command, in place (exec keeps the pid)
    bash_real = os.path.realpath(bash_path)
    current = os.getppid()
    for _ in range(64):
        if current <= 1 or start_time(current) is None:
            return False
        try:
            exe = os.path.realpath(f"/proc/{current}/exe")
        except OSError:
            return False
        if exe != bash_real:
            return False  # something other than bash (python, make, xargs) started this tool
        if current == pid:
            return True
        try:
            with open(f"/proc/{current}/stat", "rb") as f:
                data = f.read().decode(errors="replace")
            current = int(data[data.rfind(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _exec(path: str, argv: list[str]) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    for sig in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    os.execv(path, argv)
