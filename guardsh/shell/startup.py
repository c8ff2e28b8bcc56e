"""The start-up files an interactive bash reads, found the way bash's shell.c finds them.

The guarded session's inner bash is started with ``--norc --noprofile`` (it reads its commands
from guardsh's pipe); the files a real ``bash`` at a terminal would read are instead classified
and then sourced in it as the session's first line, before its first prompt.  So the first
prompt, the aliases, ``shopt`` settings and functions are the ones a real bash shows, and a
program that drives the shell over a PTY (SWE-ReX sets its own ``PS1`` and waits for it) sees the
same prompts in the same order.

bash's rules (``run_startup_files``), for the cases the session is started in:
- interactive login shell (``-l``, ``--login``, ``argv[0]`` starting with ``-``): ``/etc/profile``,
  then the first of ``~/.bash_profile``, ``~/.bash_login``, ``~/.profile`` that exists; none of
  them with ``--noprofile``;
- interactive non-login shell: the system bashrc, if this bash was built with one (Debian and
  Arch: ``/etc/bash.bashrc``), then ``--rcfile FILE`` (or ``--init-file``) or ``~/.bashrc``;
  none of them with ``--norc``;
- in POSIX mode (``--posix``, or called as ``sh``) bash reads ``$ENV`` instead: not followed
  here, the session then reads no start-up file.
"""
from __future__ import annotations

import os
import shlex

SYSTEM_BASHRC = "/etc/bash.bashrc"
_built_in: dict[str, bool] = {}


def _has_system_bashrc(bash: str) -> bool:
    """Was this bash built with SYS_BASHRC (the path is a string in its binary)?"""
    if bash not in _built_in:
        try:
            with open(bash, "rb") as f:
                _built_in[bash] = (SYSTEM_BASHRC.encode() + b"\0") in f.read()
        except OSError:
            _built_in[bash] = False
    return _built_in[bash]


_LONG = frozenset({"debug", "debugger", "dump-po-strings", "dump-strings", "help", "init-file", "login",
                   "noediting", "noprofile", "norc", "posix", "pretty-print", "protected", "rcfile",
                   "restricted", "verbose", "version", "wordexp"})


def _long_options(args: list[str]) -> set[str]:
    """bash's long options, which come first (one dash or two); the rest of argv is not looked at."""
    seen: set[str] = set()
    i = 0
    while i < len(args):
        name = args[i][2:] if args[i].startswith("--") else args[i][1:] if args[i].startswith("-") else ""
        if name not in _LONG:
            break
        seen.add(name)
        i += 2 if name in ("rcfile", "init-file") else 1
    return seen


def startup_files(bash: str, args: list[str], login: bool, rcfile: str | None, argv0: str = "bash") -> list[str]:
    """The files (that exist) a real interactive ``bash ARGS`` reads before its first prompt, in order."""
    options = _long_options(args)
    if "posix" in options or os.path.basename(argv0).lstrip("-") == "sh":
        return []
    if login:
        if "noprofile" in options:
            return []
        files = ["/etc/profile"]
        for name in ("~/.bash_profile", "~/.bash_login", "~/.profile"):
            path = os.path.expanduser(name)
            if os.path.exists(path):
                files.append(path)
                break
        return [f for f in files if os.path.exists(f)]
    if "norc" in options:
        return []
    files = [SYSTEM_BASHRC] if _has_system_bashrc(bash) else []
    files.append(os.path.expanduser(rcfile) if rcfile else os.path.expanduser("~/.bashrc"))
    return [f for f in files if os.path.exists(f)]


def source_text(files: list[str]) -> str:
    """The session's first line: each file sourced in turn, as bash reads them."""
    return "\n".join(f"source {shlex.quote(f)}" for f in files)
