#!/usr/bin/env bash
# Install guardsh: a private virtualenv, a fast launcher on PATH, validated rules, and a demo.
#   GUARDSH_HOME  where the virtualenv goes   (default: ~/.local/share/guardsh)
#   GUARDSH_BIN   where the guardsh launcher goes (default: /usr/local/bin as root, else ~/.local/bin)
#   PYTHON        the interpreter (default: the fastest-starting Python 3.10+ with venv found)
#   GUARDSH_DAEMON=1  also install and enable the resident classifier (systemd user unit)
#   GUARDSH_CLIENT_TIMEOUT_MS  how long the native client waits for the daemon (default 10)
#   GUARDSH_ON_DEMAND=0  the native client does not start the daemon when none runs (default 1)
#   GUARDSH_SYSTEM=1  (as root) the separate-user mode: the daemon runs as a dedicated system user;
#     the code is root's, config and rules come from /etc/guardsh only (the agent's ~/.config is
#     ignored). Overridable: GUARDSH_PREFIX (/opt/guardsh: venv, client, shell links), GUARDSH_ETC
#     (/etc/guardsh), GUARDSH_STATE (/var/lib/guardsh: the daemon's audit trail and caches),
#     GUARDSH_RUN (/run/guardsh: its socket), GUARDSH_USER (guardsh), GUARDSH_UNIT_DIR
#     (/etc/systemd/system), GUARDSH_START=0 (do not start the daemon)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home_dir="${GUARDSH_HOME:-$HOME/.local/share/guardsh}"
system="${GUARDSH_SYSTEM:-0}"
if [ "$system" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "install.sh: GUARDSH_SYSTEM=1 installs for every user: run it as root" >&2; exit 1; }
  home_dir="${GUARDSH_PREFIX:-/opt/guardsh}"
  sys_etc="${GUARDSH_ETC:-/etc/guardsh}"; sys_state="${GUARDSH_STATE:-/var/lib/guardsh}"
  sys_run="${GUARDSH_RUN:-/run/guardsh}"; sys_user="${GUARDSH_USER:-guardsh}"
  if ! id -u "$sys_user" >/dev/null 2>&1; then
    nologin="$(command -v nologin || echo /usr/sbin/nologin)"
    useradd --system --user-group --no-create-home --home-dir "$sys_state" --shell "$nologin" "$sys_user"
    echo "==> created the system user $sys_user (uid $(id -u "$sys_user")): the daemon runs as it"
  fi
  umask 022  # the code and config are root's, readable by every user
fi
if [ -z "${GUARDSH_BIN:-}" ]; then
  if [ "$(id -u)" = 0 ]; then GUARDSH_BIN=/usr/local/bin; else GUARDSH_BIN="$HOME/.local/bin"; fi
fi
if [ "$(readlink -m "$GUARDSH_BIN")" = "$(readlink -m "$home_dir/bin")" ]; then
  # the native client is built as $home_dir/bin/guardsh: it would replace the launcher it falls back to
  echo "install.sh: GUARDSH_BIN ($GUARDSH_BIN) must not be $home_dir/bin, where the native client goes" >&2; exit 2
fi
python="${PYTHON:-}"; chosen="PYTHON"
if [ -z "$python" ]; then
  chosen="the fastest-starting suitable Python found"
  # Every Python 3.10+ that can make a virtualenv; the launcher runs one per command, so take the
  # one that starts fastest (Debian's optimised static /usr/bin/python3 usually beats a pyenv
  # shared-library build by ~0.5-1 ms). PYTHON=/path/to/python3 overrides the choice.
  seen=" "; candidates=()
  for candidate in python3 python3.13 python3.12 python3.11 python3.10 /usr/bin/python3 /usr/local/bin/python3; do
    path="$(command -v "$candidate" 2>/dev/null)" || continue
    real="$("$path" -IS -c 'import sys; print(sys.executable if sys.version_info >= (3, 10) else "")' 2>/dev/null)" || continue
    real="$(readlink -f "$real" 2>/dev/null || echo "$real")"
    case "$seen" in *" $real "*) continue ;; esac
    [ -n "$real" ] && "$real" -IS -c 'import venv, ensurepip' 2>/dev/null || continue
    # the separate-user mode: every user (and the daemon's) must be able to run it (not a pyenv under /root)
    # (through env: setpriv's own exec of a path under a 0700 /root can succeed where a shebang's fails)
    if [ "$system" = 1 ]; then setpriv --reuid="$sys_user" --regid="$sys_user" --clear-groups env "$real" -IS -c pass 2>/dev/null || continue; fi
    seen="$seen$real "; candidates+=("$real")
  done
  if [ "${#candidates[@]}" -gt 1 ]; then
    python="$("${candidates[0]}" -IS - "${candidates[@]}" <<'PICK'
import os, sys, time
def start(py):
    best = float("inf")
    for _ in range(15):
        t = time.perf_counter()
        pid = os.posix_spawn(py, [py, "-IS", "-c", "pass"], os.environ)
        os.waitpid(pid, 0)
        best = min(best, time.perf_counter() - t)
    return best
times = {py: start(py) for py in sys.argv[1:]}
for py, t in times.items():
    sys.stderr.write(f"    {py}: starts in {t * 1e3:.1f} ms\n")
print(min(times, key=times.get))
PICK
)"
  elif [ "${#candidates[@]}" = 1 ]; then
    python="${candidates[0]}"
  fi
fi
[ -n "$python" ] || { echo "install.sh: guardsh needs Python 3.10 or newer with venv (set PYTHON=/path/to/python3)" >&2; exit 1; }

echo "==> creating the virtualenv in $home_dir/venv (with $("$python" --version), $python: $chosen)"
mkdir -p "$home_dir"
"$python" -m venv "$home_dir/venv"
venv_py="$home_dir/venv/bin/python"
echo "==> installing guardsh and its dependencies"
"$venv_py" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$venv_py" -m pip install --quiet --disable-pip-version-check "$here"
site="$("$venv_py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# The launcher runs Python with -I -S: no user site, no PYTHON* variables (an agent cannot
# inject code through PYTHONPATH), no site processing (it costs ~5 ms per command).
echo "==> writing the launcher $GUARDSH_BIN/guardsh"
mkdir -p "$GUARDSH_BIN"
launcher="$GUARDSH_BIN/guardsh"
tmp="$(mktemp "$GUARDSH_BIN/.guardsh.XXXXXX")"
system_line=""
if [ "$system" = 1 ]; then  # fixed here, in a root-owned file: never taken from the environment
  system_line="import guardsh.paths
guardsh.paths.set_system(etc=\"$sys_etc\", state=\"$sys_state\", run=\"$sys_run\", user=\"$sys_user\")
"
fi
cat > "$tmp" <<LAUNCHER
#!$venv_py -IS
# guardsh-launcher: runs guardsh from $home_dir/venv
import sys
sys.path[0:0] = ["$site"]
${system_line:-}from guardsh.cli import main
sys.exit(main())
LAUNCHER
chmod 755 "$tmp"
mv -f "$tmp" "$launcher"

# The native client (native/guardsh-client.c, libc only): asks the resident classifier (guardsh
# daemon) and execs bash on its allow, else runs this launcher with the same argv. Built when a C
# compiler is present; the shell links then point to it.
shell_target="$launcher"
cc_bin="$(command -v cc || command -v gcc || true)"
system_cflags=()  # the separate-user mode: trust only the daemon user's socket and process
if [ "$system" = 1 ]; then system_cflags=(-DGUARDSH_DAEMON_UID="$(id -u "$sys_user")" -DGUARDSH_SOCKET_DIR="\"$sys_run\""); fi
if [ -n "$cc_bin" ]; then
  mkdir -p "$home_dir/bin"
  if "$cc_bin" -O2 -o "$home_dir/bin/guardsh.tmp" "$here/native/guardsh-client.c" \
       -DGUARDSH_LAUNCHER="\"$launcher\"" -DGUARDSH_PYTHON="\"$(readlink -f "$venv_py")\"" \
       -DGUARDSH_TIMEOUT_MS="${GUARDSH_CLIENT_TIMEOUT_MS:-10}" -DGUARDSH_ON_DEMAND="${GUARDSH_ON_DEMAND:-1}" \
       ${system_cflags[@]+"${system_cflags[@]}"} 2>/dev/null; then
    mv -f "$home_dir/bin/guardsh.tmp" "$home_dir/bin/guardsh"
    shell_target="$home_dir/bin/guardsh"
    echo "==> built the native client $shell_target (fast path: it starts the resident classifier on demand; or 'guardsh daemon install' for a systemd user unit)"
  else
    rm -f "$home_dir/bin/guardsh.tmp"; echo "note: the native client did not compile; guardsh runs on Python alone"
  fi
else
  echo "note: no C compiler (cc), so the native client is not built; guardsh runs on Python alone"
fi

# Links named bash and sh, for agents that pick their shell by name (Claude Code wants "bash"
# in the path of CLAUDE_CODE_SHELL; Gemini CLI runs "bash" from PATH).
mkdir -p "$home_dir/shell"
ln -sfn "$shell_target" "$home_dir/shell/bash"
ln -sfn "$shell_target" "$home_dir/shell/sh"

# GUARDSH_SYSTEM_LINKS=1 (as root): shell links and tool shims system-wide, and the bash-named
# guardsh in /etc/shells so it can be a login shell (chsh -s /usr/local/lib/guardsh/bin/bash USER;
# Codex takes the shell from /etc/passwd and accepts only bash, zsh or sh by name).
if [ "${GUARDSH_SYSTEM_LINKS:-0}" = 1 ]; then
  sysdir=/usr/local/lib/guardsh/bin
  mkdir -p "$sysdir"
  for n in bash sh rm git kubectl terraform aws gcloud az helm docker; do ln -sfn "$launcher" "$sysdir/$n"; done
  grep -qxF "$sysdir/bash" /etc/shells 2>/dev/null || echo "$sysdir/bash" >> /etc/shells
  echo "==> system links in $sysdir (registered $sysdir/bash in /etc/shells); put $sysdir first on PATH for the tool shims"
fi

# GUARDSH_DAEMON=1: also write and enable the resident classifier's systemd user unit.
if [ "${GUARDSH_DAEMON:-0}" = 1 ] && [ "$system" != 1 ]; then "$launcher" daemon install || true; fi

# The separate-user mode: /etc/guardsh (locked), the daemon user's state, its system unit; started
# by systemd where it runs, else by 'guardsh daemon start' as root (which drops to the user).
if [ "$system" = 1 ]; then
  mkdir -p "$sys_etc/rules.d"
  [ -e "$sys_etc/config.yaml" ] || printf '# guardsh system config: users cannot override it (locked)\nlocked: true\n' > "$sys_etc/config.yaml"
  for d in "$sys_state" "$sys_state/cache"; do mkdir -p "$d"; chown "$sys_user:" "$d"; chmod 755 "$d"; done
  mkdir -p "$sys_state/audit"; chown "$sys_user:" "$sys_state/audit"; chmod 700 "$sys_state/audit"
  (cd / && setpriv --reuid="$sys_user" --regid="$sys_user" --clear-groups env HOME="$sys_state" "$launcher" check -- true >/dev/null)  # the shared caches, the daemon user's
  # systemd enables the unit only where it belongs (a GUARDSH_UNIT_DIR elsewhere: written, not enabled)
  "$launcher" daemon install --system --unit-dir "${GUARDSH_UNIT_DIR:-/etc/systemd/system}" ${GUARDSH_UNIT_DIR:+--no-enable}
  if [ "${GUARDSH_START:-1}" = 1 ] && ! "$launcher" daemon status >/dev/null 2>&1; then "$launcher" daemon start; fi
  echo "==> separate-user mode: the daemon runs as $sys_user on $sys_run/daemon.sock; config and rules: $sys_etc; its audit trail: $sys_state/audit"
fi

echo "==> validating the rules (every rule's examples)"
"$launcher" rules test
"$launcher" check -- true >/dev/null   # warms the rule and parser caches

case ":$PATH:" in
  *":$GUARDSH_BIN:"*) ;;
  *) echo "note: $GUARDSH_BIN is not on your PATH; add it (export PATH=\"$GUARDSH_BIN:\$PATH\") or call $launcher" ;;
esac

echo "==> guardsh at work"
echo "\$ guardsh -c 'echo hello from bash, via guardsh'"
"$launcher" -c 'echo hello from bash, via guardsh'
echo "\$ guardsh check -- 'git push --force origin main'"
"$launcher" check -- 'git push --force origin main' || true
echo "\$ guardsh -c 'rm -rf ~'"
"$launcher" -c 'rm -rf ~' || echo "(exit status $?: refused, nothing was deleted)"
echo "==> installed: $launcher (shell links: $home_dir/shell/bash, $home_dir/shell/sh)"
