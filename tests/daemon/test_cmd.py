"""``guardsh daemon start|status|stop|install``: the commands a user runs, on real processes."""
from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import build_client


def daemon(guardsh_bin: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(guardsh_bin), "daemon", *args], env=env, capture_output=True, text=True, timeout=60)


def test_start_status_stop(guardsh_bin: Path, guardsh_env: dict[str, str], socket_dir: Path, tmp_path: Path) -> None:
    where = ("--socket-dir", str(socket_dir))
    assert daemon(guardsh_bin, guardsh_env, "status", *where).returncode == 3
    started = daemon(guardsh_bin, guardsh_env, "start", *where)
    try:
        assert started.returncode == 0 and "started" in started.stdout, started
        assert "already running" in daemon(guardsh_bin, guardsh_env, "start", *where).stdout
        status = daemon(guardsh_bin, guardsh_env, "status", *where)
        assert status.returncode == 0 and "running pid" in status.stdout
        # what start ran is what the native client trusts: the launcher itself, detached
        client = build_client(tmp_path / "c", guardsh_bin, socket_dir)
        got = subprocess.run([str(client), "-c", "echo via-daemon"], env=dict(guardsh_env, GUARDSH_CLIENT_DEBUG="1"),
                             capture_output=True, timeout=60)
        assert got.stdout == b"via-daemon\n" and b"python path" not in got.stderr, got.stderr
    finally:
        stopped = daemon(guardsh_bin, guardsh_env, "stop", *where)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert daemon(guardsh_bin, guardsh_env, "status", *where).returncode == 3
    assert not (socket_dir / "daemon.sock").exists()


def test_install_writes_the_user_unit(guardsh_bin: Path, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(guardsh_env, XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = daemon(guardsh_bin, env, "install", "--no-enable")
    unit = tmp_path / "config" / "systemd" / "user" / "guardsh-daemon.service"
    assert done.returncode == 0 and str(unit) in done.stdout
    text = unit.read_text()
    assert f"ExecStart={guardsh_bin} daemon run\n" in text and "WantedBy=default.target" in text
    assert daemon(guardsh_bin, env, "uninstall").returncode == 0 and not unit.exists()


def test_usage_errors(guardsh_bin: Path, guardsh_env: dict[str, str]) -> None:
    assert daemon(guardsh_bin, guardsh_env).returncode == 2
    bad = daemon(guardsh_bin, guardsh_env, "status", "--bogus")
    assert bad.returncode == 2 and "--bogus" in bad.stderr


def test_uninstall_system_removes_the_system_unit(guardsh_bin: Path, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    (units / "guardsh-daemon.service").write_text("[Service]\nExecStart=/usr/local/bin/guardsh daemon run\n")
    done = daemon(guardsh_bin, guardsh_env, "uninstall", "--system", "--unit-dir", str(units))
    assert done.returncode == 0 and f"removed {units / 'guardsh-daemon.service'}" in done.stdout
    assert list(units.iterdir()) == []
    again = daemon(guardsh_bin, guardsh_env, "uninstall", "--system", "--unit-dir", str(units))
    assert again.returncode == 0 and "no system unit" in again.stdout
