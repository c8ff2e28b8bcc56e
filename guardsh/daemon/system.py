"""The separate-user mode of the resident classifier (``GUARDSH_SYSTEM=1 ./install.sh`` as root).

The daemon runs as a dedicated system user (``guardsh``) and answers clients of any uid, so the
agent's user can neither kill it nor edit what it reads.  It never allows on doubt: it answers
*fallback* whenever it cannot do the Python path's work as the client's user would:

- a cwd it cannot enter (``answer._in_client_world``);
- any file-system call made while classifying that the kernel refused it (``EACCES``/``EPERM``:
  a file or directory the client's user may read and ``guardsh`` may not).  ``watch_denials``
  wraps the ``os``/``io`` entry points every read of the engine goes through, once per worker,
  and ``denied()`` says whether the current request met one;
- an allowed command the undo snapshot would save first (the Python path saves as the user);
- an audit record it cannot write.

Its records of the allows it gives go to ``STATE/audit/uid-UID.jsonl`` (``paths.daemon_audit_log``,
in the daemon user's own directory), and name the client's uid.

``start`` (as root, where there is no systemd) creates the socket directory for that user and
runs the daemon as that user; ``install`` writes the systemd system unit.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import sys

from guardsh import paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

SYSTEM_UNIT_DIR = "/etc/systemd/system"
_DENIED: list[str] = []
_WATCHED = False


def active() -> bool:
    return paths.SYSTEM is not None


# --- file-system denials ------------------------------------------------------------------

def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PermissionError as e:
            _DENIED.append(f"{getattr(fn, '__name__', 'call')}({e.filename!r})")
            raise
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM):
                _DENIED.append(f"{getattr(fn, '__name__', 'call')}({e.filename!r})")
            raise

    watched.__name__ = getattr(fn, "__name__", "watched")
    return watched


def watch_denials() -> None:
    """Record every permission error of the calls that reach the disk (os.stat and os.lstat under
    os.path.exists/isdir/realpath, os.open, os.scandir/listdir/walk, os.readlink, open)."""
    global _WATCHED
    if _WATCHED:
        return
    _WATCHED = True
    for name in ("stat", "lstat", "open", "scandir", "listdir", "readlink", "chdir"):
        setattr(os, name, _wrap(getattr(os, name)))
    watched_open = _wrap(io.open)
    builtins.open = watched_open
    io.open = watched_open


def reset() -> None:
    _DENIED.clear()


def denied() -> list[str]:
    return list(_DENIED)


# --- running as the daemon user -----------------------------------------------------------

def daemon_user() -> tuple[int, int, str]:
    """(uid, gid, home) of the system mode's daemon user."""
    import pwd

    assert paths.SYSTEM is not None
    entry = pwd.getpwnam(paths.SYSTEM.user)
    return entry.pw_uid, entry.pw_gid, entry.pw_dir


def drop_privileges() -> None:
    """Become the daemon user for good (from root): groups, gid, then uid."""
    uid, gid, home = daemon_user()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    name = paths.SYSTEM.user if paths.SYSTEM else ""
    os.environ.update(HOME=home or "/", USER=name, LOGNAME=name)


def prepare_dirs() -> None:
    """As root: the socket directory (0755) and the state directory (its audit/ 0700, cache/
    0755, readable by every user's Python path) owned by the daemon user."""
    assert paths.SYSTEM is not None
    uid, gid, _home = daemon_user()
    for path, mode in ((paths.SYSTEM.run, 0o755), (paths.SYSTEM.state, 0o755),
                       (os.path.join(paths.SYSTEM.state, "audit"), 0o700),
                       (os.path.join(paths.SYSTEM.state, "cache"), 0o755)):
        os.makedirs(path, mode=mode, exist_ok=True)
        st = os.lstat(path)
        if not os.path.isdir(path) or os.path.islink(path):
            raise OSError(f"{path} is not a directory")
        if st.st_uid != uid or st.st_gid != gid:
            os.chown(path, uid, gid)
        os.chmod(path, mode)


def log_path() -> str:
    assert paths.SYSTEM is not None
    return os.path.join(paths.SYSTEM.state, "daemon.log")


def start_check() -> str | None:
    """Why ``guardsh daemon start`` cannot run here in system mode (None: it can: as root, it
    prepares the directories; the detached child drops to the daemon user)."""
    if os.geteuid() != 0:
        return (f"in the separate-user mode the daemon runs as {paths.SYSTEM.user if paths.SYSTEM else '?'}: "
                "start it as root (or systemctl start guardsh-daemon)")
    prepare_dirs()
    return None


# --- the systemd system unit -----------------------------------------------------------------

def unit_path(unit_dir: str = SYSTEM_UNIT_DIR, name: str = "guardsh-daemon.service") -> str:
    return os.path.join(unit_dir, name)


def unit_text(launcher: str) -> str:
    assert paths.SYSTEM is not None
    run = paths.SYSTEM.run
    runtime = run[len("/run/"):] if run.startswith("/run/") and "/" not in run[len("/run/"):] else ""
    lines = [
        "[Unit]",
        "Description=guardsh resident classifier, separate-user mode (falls back to Python on doubt)",
        "",
        "[Service]",
        f"User={paths.SYSTEM.user}",
        f"Group={paths.SYSTEM.user}",
        f"ExecStart={launcher} daemon run",
        "Restart=always",  # nobody else may start it: it comes back after any exit (an idle one too)
        "RestartSec=1",
        "UMask=0022",
        "NoNewPrivileges=yes",
    ]
    if runtime:
        lines += [f"RuntimeDirectory={runtime}", "RuntimeDirectoryMode=0755"]
    else:
        lines += [f"ExecStartPre=+/bin/sh -c 'mkdir -p {run} && chown {paths.SYSTEM.user}: {run} && chmod 0755 {run}'"]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def uninstall(unit_dir: str = SYSTEM_UNIT_DIR) -> int:
    """Stop and disable the system unit where systemd runs, and remove its file (as root)."""
    import subprocess

    path = unit_path(unit_dir)
    systemd = _systemd_runs()
    if systemd:
        subprocess.run(["systemctl", "disable", "--now", os.path.basename(path)], capture_output=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        sys.stdout.write(f"guardsh daemon: no system unit at {path}\n")
        return 0
    except PermissionError:
        sys.stderr.write(f"guardsh daemon: cannot remove {path} (as root: sudo guardsh daemon uninstall --system)\n")
        return 1
    if systemd:
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True)
    sys.stdout.write(f"guardsh daemon: removed {path}\n")
    return 0


def install(launcher: str, enable: bool, unit_dir: str = SYSTEM_UNIT_DIR) -> int:
    """Write the system unit (as root) and enable it when systemd runs here."""
    if not active():
        sys.stderr.write("guardsh daemon: install --system needs a system-mode installation "
                         "(GUARDSH_SYSTEM=1 ./install.sh as root)\n")
        return 2
    from guardsh.daemon.units import enable_unit, write_unit

    path = unit_path(unit_dir)
    write_unit(path, unit_text(launcher))
    if not enable:
        return 0
    if not _systemd_runs():
        sys.stdout.write("guardsh daemon: systemd does not run here; start it with: guardsh daemon start (as root)\n")
        return 0
    enable_unit(["systemctl"], os.path.basename(path), "guardsh daemon start (as root)")
    return 0


def _systemd_runs() -> bool:
    import shutil

    return shutil.which("systemctl") is not None and os.path.isdir("/run/systemd/system")
