"""Every path guardsh uses, in one place: config, rules, state, cache, runtime and install.

The XDG base directories are honoured everywhere (``XDG_CONFIG_HOME``, ``XDG_STATE_HOME``,
``XDG_CACHE_HOME``, ``XDG_RUNTIME_DIR``); as the specification says, a value that is not an
absolute path is ignored.  Each function takes the environment to read (default: this process's)
so that faces and tests can ask about another one.

=============  ==========================================  =======================================
kind           default                                     holds
=============  ==========================================  =======================================
config         ``$XDG_CONFIG_HOME/guardsh`` (~/.config)     config.yaml, rules.d/
system config  ``/etc/guardsh``                            config.yaml, rules.d/ (``locked: true``)
state          ``$XDG_STATE_HOME/guardsh`` (~/.local/state) audit.jsonl, approvals.jsonl, history, snapshots/
cache          ``$XDG_CACHE_HOME/guardsh`` (~/.cache)       compiled rules and config, wrap links
runtime        ``$XDG_RUNTIME_DIR/guardsh``, else            approver.sock
               ``/tmp/guardsh-UID``
install        ``$GUARDSH_HOME`` (~/.local/share/guardsh)   the virtualenv, shell links
=============  ==========================================  =======================================

**System mode** (the separate-user mode, ``GUARDSH_SYSTEM=1 ./install.sh`` as root): the root-owned
launcher calls ``set_system()`` before anything else is imported, so the mode is fixed by the
installation, never by the environment (which the agent controls).  Then config and rules come
from the package and the system directory only (the user's ``~/.config/guardsh`` is agent-writable
and ignored), the compiled rules and config are cached in ``STATE/cache`` (written by the daemon's
user, read by everyone), and the daemon's socket is ``RUN/daemon.sock``.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping

    Env = Mapping[str, str]

APP = "guardsh"
SYSTEM_DIR = "/etc/guardsh"
CONFIG_NAME = "config.yaml"
RULES_DIR = "rules.d"
# the separate-user installation's defaults (install.sh GUARDSH_SYSTEM=1): code, daemon state, socket
SYSTEM_PREFIX = "/opt/guardsh"
SYSTEM_STATE = "/var/lib/guardsh"
SYSTEM_RUN = "/run/guardsh"


class System:
    """The separate-user installation: its config dir, the daemon user's state dir (its audit
    trail, the shared compiled caches), its socket dir, and the daemon's user name."""

    __slots__ = ("etc", "state", "run", "user")

    def __init__(self, etc: str, state: str, run: str, user: str) -> None:
        self.etc, self.state, self.run, self.user = etc, state, run, user


SYSTEM: System | None = None


def set_system(etc: str = SYSTEM_DIR, state: str = SYSTEM_STATE, run: str = SYSTEM_RUN, user: str = APP) -> None:
    """Called by a system-mode launcher (root-owned) before guardsh runs; never from the environment."""
    global SYSTEM
    SYSTEM = System(os.path.normpath(etc), os.path.normpath(state), os.path.normpath(run), user)


def system_dir() -> str:
    return SYSTEM.etc if SYSTEM else SYSTEM_DIR


def home(env: Env | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("HOME") or os.path.expanduser("~")


def _xdg(env: Env | None, var: str, *default: str) -> str:
    env = os.environ if env is None else env
    value = env.get(var, "")
    if value.startswith("/"):
        return os.path.normpath(value)
    return os.path.join(home(env), *default)


def xdg_config_home(env: Env | None = None) -> str:
    """$XDG_CONFIG_HOME, or ~/.config: the base other tools' config lives under too (git's)."""
    return _xdg(env, "XDG_CONFIG_HOME", ".config")


# --- config and rules ------------------------------------------------------------------------

def config_dir(env: Env | None = None) -> str:
    """The user's own guardsh directory: config.yaml and rules.d/."""
    return os.path.join(_xdg(env, "XDG_CONFIG_HOME", ".config"), APP)


def config_files(env: Env | None = None) -> list[str]:
    """The system config, then the user's (which the system one can lock out; system mode: the
    system config alone)."""
    if SYSTEM:
        return [os.path.join(SYSTEM.etc, CONFIG_NAME)]
    return [os.path.join(SYSTEM_DIR, CONFIG_NAME), os.path.join(config_dir(env), CONFIG_NAME)]


def packaged_rules_dir() -> str:
    """The rules shipped with guardsh: ``guardsh/_rules`` when installed, else the checkout's rules.d."""
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, "_rules")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), RULES_DIR)


def rule_dirs(env: Env | None = None) -> list[str]:
    """Packaged rules, then /etc/guardsh/rules.d, then the user's rules.d (system mode: not the user's)."""
    if SYSTEM:
        return [packaged_rules_dir(), os.path.join(SYSTEM.etc, RULES_DIR)]
    return [packaged_rules_dir(), os.path.join(SYSTEM_DIR, RULES_DIR), os.path.join(config_dir(env), RULES_DIR)]


# --- state -----------------------------------------------------------------------------------

def state_dir(env: Env | None = None) -> str:
    return os.path.join(_xdg(env, "XDG_STATE_HOME", ".local", "state"), APP)


def audit_log(env: Env | None = None) -> str:
    """The default audit trail (``audit_log:`` in the config moves it)."""
    return os.path.join(state_dir(env), "audit.jsonl")


def approvals_log(env: Env | None = None) -> str:
    """The approver's record of every decision."""
    return os.path.join(state_dir(env), "approvals.jsonl")


def snapshots_dir(env: Env | None = None) -> str:
    """What ``guardsh undo`` can put back: the snapshot store (guardsh/undo/store.py)."""
    return os.path.join(state_dir(env), "snapshots")


def history_file(env: Env | None = None) -> str:
    """The interactive session's line history."""
    return os.path.join(state_dir(env), "history")


# --- cache -----------------------------------------------------------------------------------

def cache_dir(env: Env | None = None) -> str:
    return os.path.join(_xdg(env, "XDG_CACHE_HOME", ".cache"), APP)


def user_cache_root(env: Env | None = None) -> str:
    """``~/.cache`` itself (what lies under it is regenerable by definition)."""
    return _xdg(env, "XDG_CACHE_HOME", ".cache")


def compiled_cache_dir(env: Env | None = None) -> str:
    """Where the compiled rules and config are cached: the user's cache, or in system mode
    ``STATE/cache`` (never a directory the agent can write: a forged cache would be rules)."""
    return os.path.join(SYSTEM.state, "cache") if SYSTEM else cache_dir(env)


def rules_cache(env: Env | None = None) -> str:
    return os.path.join(compiled_cache_dir(env), "rules.marshal")


def config_cache(env: Env | None = None) -> str:
    return os.path.join(compiled_cache_dir(env), "config.marshal")


def wrap_dir(key: str, env: Env | None = None) -> str:
    """The private directory of ``guardsh wrap``'s shell links and tool shims for one launcher."""
    return os.path.join(cache_dir(env), "wrap", key)


# --- runtime (sockets) -------------------------------------------------------------------------

def runtime_dir(env: Env | None = None, uid: int | None = None) -> str:
    """The private directory of this user's approver socket: ``$XDG_RUNTIME_DIR/guardsh`` when that
    is a directory of the user's own, else ``/tmp/guardsh-UID``."""
    env = os.environ if env is None else env
    uid = os.getuid() if uid is None else uid
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/") and _own_directory(runtime, uid):
        return os.path.join(runtime, APP)
    return fallback_runtime_dir(uid)


def _own_directory(path: str, uid: int) -> bool:
    """``path`` is a directory (followed through links, as ``stat``) that ``uid`` owns."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid


def fallback_runtime_dir(uid: int | None = None) -> str:
    return f"/tmp/{APP}-{os.getuid() if uid is None else uid}"


def daemon_dir(uid: int | None = None) -> str:
    """The private directory of the resident classifier's socket: ``/run/user/UID/guardsh`` when
    ``/run/user/UID`` is a directory of the user's own, else ``/tmp/guardsh-UID``.  Never taken
    from the environment (an agent sets XDG_RUNTIME_DIR): the native client computes the same.
    System mode: the system socket directory (``/run/guardsh``)."""
    if SYSTEM:
        return SYSTEM.run
    uid = os.getuid() if uid is None else uid
    run = f"/run/user/{uid}"
    return os.path.join(run, APP) if _own_directory(run, uid) else fallback_runtime_dir(uid)


def daemon_audit_log(uid: int) -> str:
    """System mode: the daemon's own record of the allows it gives to user ``uid`` (in its state
    dir, which the agent's user cannot alter)."""
    assert SYSTEM is not None
    return os.path.join(SYSTEM.state, "audit", f"uid-{uid}.jsonl")


def agent_socket_dir(uid: int | None = None) -> str:
    """The request-only socket's directory for agents running as another user (separate-user mode)."""
    return f"/tmp/{APP}-requests-{os.getuid() if uid is None else uid}"


# --- install ---------------------------------------------------------------------------------

def install_dir(env: Env | None = None) -> str:
    """Where install.sh puts the virtualenv and the shell links."""
    env = os.environ if env is None else env
    configured = env.get("GUARDSH_HOME", "")
    if configured.startswith("/"):
        return os.path.normpath(configured)
    return os.path.join(home(env), ".local", "share", APP)


def native_client(env: Env | None = None) -> str | None:
    """The native client install.sh built (``<install dir>/bin/guardsh``), if there is one."""
    path = os.path.join(install_dir(env), "bin", APP)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def package_install_prefix() -> str | None:
    """The virtualenv guardsh runs from, when it runs from an installed copy (not a checkout)."""
    import sys

    return sys.prefix if "site-packages" in os.path.abspath(__file__) else None


# --- all of them -----------------------------------------------------------------------------

def own_dirs(env: Env | None = None, audit_log_setting: str | None = None) -> tuple[str, ...]:
    """Every directory that holds guardsh's config, rules, state, caches, sockets or code: an agent
    that writes or deletes there is tampering with its own guard."""
    env = os.environ if env is None else env
    uid = os.getuid()
    runtime = env.get("XDG_RUNTIME_DIR", "")
    dirs = [
        config_dir(env), os.path.join(home(env), ".config", APP), state_dir(env), cache_dir(env),
        install_dir(env), os.path.join(home(env), ".local", "share", APP), SYSTEM_DIR,
        os.path.join(runtime, APP) if runtime.startswith("/") else "", daemon_dir(uid),
        package_install_prefix() or "", fallback_runtime_dir(uid), agent_socket_dir(uid),
        SYSTEM_PREFIX, SYSTEM_STATE, SYSTEM_RUN, *((SYSTEM.etc, SYSTEM.state, SYSTEM.run) if SYSTEM else ()),
        os.path.dirname(os.path.expanduser(audit_log_setting)) if audit_log_setting else "",
    ]
    return tuple(dict.fromkeys(os.path.normpath(d) for d in dirs if d))
