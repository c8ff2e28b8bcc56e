"""The native client against the genuine daemon, no daemon, and impostors: it execs the real bash
only on the genuine daemon's allow, and in every other case runs the Python guardsh with the same
argv (which decides as always: an allowed command still runs, a refused one still exits 126)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import build_client, impostor_launcher

FELL_BACK = b"guardsh-client: python path:"
REFUSED_TEXT = "git push --force origin main"  # destructive; harmless here (no repository, no remote)


def run(client: Path, *args: str, env: dict[str, str], cwd: Path, input: bytes | None = None,
        argv0: str | None = None, **kw: object) -> subprocess.CompletedProcess[bytes]:
    env = dict(env, GUARDSH_CLIENT_DEBUG="1")
    return subprocess.run([argv0 or str(client), *args], executable=str(client), env=env, cwd=cwd, input=input,
                          capture_output=True, timeout=60, **kw)  # type: ignore[call-overload]


def bash(*args: str, argv0: str, env: dict[str, str], cwd: Path, input: bytes | None = None,
         **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([argv0, *args], executable="/bin/bash", env=env, cwd=cwd, input=input,
                          capture_output=True, timeout=60, **kw)  # type: ignore[call-overload]


@pytest.fixture()
def client(tmp_path: Path, guardsh_bin: Path, socket_dir: Path) -> Path:
    return build_client(tmp_path / "client", guardsh_bin, socket_dir)


@pytest.fixture()
def daemon(start_daemon, socket_dir: Path):  # type: ignore[no-untyped-def]
    return start_daemon(socket_dir)


# --- the allow path: exactly bash -------------------------------------------------------------

IO_CASES = [
    ("-c", 'echo "$0" "$#" "$@"; exit 7', "name", "a b", "c"),
    ("-c", "echo out; echo err >&2; exit 0"),
    ("-c", "cat; echo done"),
    ("-c", 'read -r line; printf "%s|" "$line"; wc -c'),
    ("-e", "-c", "false; echo not reached"),
    ("-c", "exit 255"),
    ("-c", "echo $0"),
    ("-o", "pipefail", "-c", "yes | head -1"),
]


@pytest.mark.parametrize("args", IO_CASES)
def test_allowed_io_is_bash(args: tuple[str, ...], client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"first line\nsecond \x00 binary\xff\n"
    got = run(client, *args, env=guardsh_env, cwd=tmp_path, input=data)
    assert FELL_BACK not in got.stderr, got.stderr
    want = bash(*args, argv0=str(client), env=guardsh_env, cwd=tmp_path, input=data)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)


def test_shell_link_names_and_signals(client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    link = client.parent / "sh"
    got = run(client, "-c", 'echo "$0"; kill -TERM $$', env=guardsh_env, cwd=tmp_path, argv0="sh")
    assert FELL_BACK not in got.stderr, got.stderr
    assert got.stdout == f"{client}\n".encode() and got.returncode == -signal.SIGTERM
    # called through the link named sh: $0 is the link's path, and bash runs in POSIX mode
    got = subprocess.run([str(link), "-c", 'echo "$0"; shopt -qo posix && echo posix'], env=dict(
        guardsh_env, GUARDSH_CLIENT_DEBUG="1"), cwd=tmp_path, capture_output=True, timeout=60)
    assert FELL_BACK not in got.stderr, got.stderr
    assert got.stdout == f"{link}\nposix\n".encode()


def test_sigpipe_default_like_guardsh(client: Path, daemon, guardsh_env, guardsh_bin: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An ignored SIGPIPE is reset for bash, as the Python guardsh does (yes | head dies of SIGPIPE)."""
    text = 'yes | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'

    def ignoring() -> None:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    got = run(client, "-c", text, env=guardsh_env, cwd=tmp_path, preexec_fn=ignoring)
    assert FELL_BACK not in got.stderr, got.stderr
    ref = subprocess.run([str(guardsh_bin), "-c", text], env=guardsh_env, cwd=tmp_path, capture_output=True,
                         preexec_fn=ignoring, timeout=60)
    assert got.stdout == ref.stdout == b"141\n"


def test_allow_is_audited_and_nested_token(client: Path, daemon, guardsh_env, sandbox_home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = run(client, "-c", 'echo "$GUARDSH_NESTED"; echo audited-by-daemon', env=guardsh_env, cwd=tmp_path)
    assert FELL_BACK not in got.stderr, got.stderr
    token = got.stdout.split(b"\n")[0].decode()
    pid, _started, hashes = token.split(":")
    assert int(pid) > 1 and len(hashes) == 32
    log = (sandbox_home / ".local" / "state" / "guardsh" / "audit.jsonl").read_text()
    last = [line for line in log.splitlines() if "audited-by-daemon" in line][-1]
    assert f'"pid":{pid},' in last and f'"cwd":"{tmp_path}"' in last and '"outcome":"exec"' in last


def test_nested_client_trusts_its_ancestor(client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inner = f"{client} -c 'echo inner'"
    got = run(client, "-c", inner, env=guardsh_env, cwd=tmp_path)
    assert got.stdout == b"inner\n" and FELL_BACK not in got.stderr, got.stderr


# --- everything else: the Python guardsh decides ----------------------------------------------

def test_refused_command_goes_to_python(client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert b"python path: not allowed by the daemon" in got.stderr
    assert got.returncode == 126 and b"git-push-force" in got.stderr


@pytest.mark.parametrize("args", [("--version",), ("script.sh",), (), ("-s",)])
def test_non_command_forms_go_to_python(args: tuple[str, ...], client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "script.sh").write_text("echo from-script\n")
    got = run(client, *args, env=guardsh_env, cwd=tmp_path, input=b"echo from-stdin\n")
    want = bash(*args, argv0=str(client), env=guardsh_env, cwd=tmp_path, input=b"echo from-stdin\n")
    assert got.stdout == want.stdout and got.returncode == want.returncode
    if args != ("--version",):
        assert FELL_BACK in got.stderr


def test_subcommands_go_to_python(client: Path, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = run(client, "version", env=guardsh_env, cwd=tmp_path)
    assert got.returncode == 0 and got.stdout.startswith(b"guardsh ") and b"not a shell command line or a plain hook" in got.stderr


def test_no_daemon(client: Path, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = run(client, "-c", "echo still-runs", env=guardsh_env, cwd=tmp_path)
    assert ok.stdout == b"still-runs\n" and b"python path: no socket" in ok.stderr
    refused = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert refused.returncode == 126


def test_dead_daemon(client: Path, socket_dir: Path, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_dir / "daemon.sock"))
    stale.close()  # the socket file stays; nobody listens
    got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert b"python path: connect failed" in got.stderr and got.returncode == 126


def test_stopped_daemon(client: Path, start_daemon, socket_dir: Path, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = start_daemon(socket_dir)
    assert FELL_BACK not in run(client, "-c", "true", env=guardsh_env, cwd=tmp_path).stderr
    d.stop()
    got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert FELL_BACK in got.stderr and got.returncode == 126


@pytest.mark.parametrize("mode, reason", [
    ("hang", b"no answer in time"),
    ("garbage", b"protocol: bad magic"),
    ("short", b"protocol: too few fields"),
])
def test_broken_daemon(mode: str, reason: bytes, tmp_path: Path, guardsh_bin: Path, socket_dir: Path,
                       start_daemon, guardsh_env) -> None:  # type: ignore[no-untyped-def]
    """A daemon that passes every identity check but hangs or answers garbage: Python decides."""
    fake = impostor_launcher(tmp_path / "impostor", guardsh_bin)
    client = build_client(tmp_path / "c", fake, socket_dir, timeout_ms=100 if mode == "hang" else 5000)
    start_daemon(socket_dir, launcher=fake, extra=(mode,))
    got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert b"python path: " + reason in got.stderr, got.stderr
    assert got.returncode == 126


def test_foreign_daemon_that_allows_everything(tmp_path: Path, client: Path, guardsh_bin: Path, socket_dir: Path,
                                               start_daemon, guardsh_env) -> None:  # type: ignore[no-untyped-def]
    """An agent kills the daemon and serves its own on the socket: the client does not trust it."""
    fake = impostor_launcher(tmp_path / "impostor", guardsh_bin)
    start_daemon(socket_dir, launcher=fake)
    got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
    assert b"python path: the daemon is not the genuine one" in got.stderr
    assert got.returncode == 126 and b"git-push-force" in got.stderr


def test_genuine_code_with_injected_library_is_not_trusted(client: Path, start_daemon, socket_dir: Path,
                                                           guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    start_daemon(socket_dir, env=dict(guardsh_env, LD_PRELOAD=""))
    got = run(client, "-c", "true", env=guardsh_env, cwd=tmp_path)
    assert b"python path: the daemon is not the genuine one" in got.stderr and got.returncode == 0


@pytest.mark.parametrize("damage", ["mode", "symlink", "owner"])
def test_socket_directory_must_be_private_and_ours(damage: str, tmp_path: Path, guardsh_bin: Path, socket_dir: Path,
                                                   start_daemon, guardsh_env) -> None:  # type: ignore[no-untyped-def]
    start_daemon(socket_dir)
    target = socket_dir
    if damage == "mode":
        socket_dir.chmod(0o755)
    elif damage == "symlink":
        target = tmp_path / "link"
        target.symlink_to(socket_dir)
    else:
        if os.geteuid() != 0:
            pytest.skip("changing a directory's owner needs root")
        os.chown(socket_dir, 65534, 65534)
    client = build_client(tmp_path / "c2", guardsh_bin, target)
    got = run(client, "-c", "echo runs-anyway", env=guardsh_env, cwd=tmp_path)
    assert b"python path: socket directory" in got.stderr and got.stdout == b"runs-anyway\n"
    if damage == "owner":
        os.chown(socket_dir, 0, 0)


def test_rules_changed_on_disk_before_next_answer(daemon, guardsh_bin: Path, socket_dir: Path, guardsh_env,  # type: ignore[no-untyped-def]
                                                  sandbox_home: Path, tmp_path: Path) -> None:
    # a patient client: the daemon recompiles the rules (and checks their examples) before it answers
    client = build_client(tmp_path / "patient", guardsh_bin, socket_dir, timeout_ms=120_000)
    first = run(client, "-c", "guardsh-test-tool --go", env=guardsh_env, cwd=tmp_path)
    assert FELL_BACK not in first.stderr and first.returncode == 127  # unknown program: reversible, runs
    rules = sandbox_home / ".config" / "guardsh" / "rules.d"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "zz-daemon-test.yaml").write_text(
        "rules:\n"
        "  - id: guardsh-test-tool\n"
        "    risk: destructive\n"
        "    reason: a test rule\n"
        "    match: {program: guardsh-test-tool}\n"
        "    examples: {hit: [guardsh-test-tool --go], miss: [ls]}\n"
    )
    try:
        second = run(client, "-c", "guardsh-test-tool --go", env=guardsh_env, cwd=tmp_path)
        assert b"python path: not allowed by the daemon" in second.stderr and second.returncode == 126
    finally:
        (rules / "zz-daemon-test.yaml").unlink()


def test_fifty_concurrent_clients(client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(guardsh_env, GUARDSH_CLIENT_DEBUG="1")
    procs = [subprocess.Popen([str(client), "-c", f"echo client-{i}; exit {i % 7}"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(50)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=120)
        assert (out, p.returncode) == (f"client-{i}\n".encode(), i % 7)
        assert FELL_BACK not in err, err


def test_guardsh_code_changed_restarts_the_daemon(client: Path, daemon, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An upgrade (or edit) of guardsh's own code: the daemon answers no more with the old code; it
    re-execs itself (same pid and command line, so the client trusts it again)."""
    assert FELL_BACK not in run(client, "-c", "true", env=guardsh_env, cwd=tmp_path).stderr
    module = Path(__file__).resolve().parents[2] / "guardsh" / "daemon" / "model.py"
    st = module.stat()
    os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        got = run(client, "-c", "echo still-runs", env=guardsh_env, cwd=tmp_path)
        assert b"python path: not allowed by the daemon" in got.stderr and got.stdout == b"still-runs\n"
        assert b"restarting" in daemon.proc.stderr.readline()
        assert b"listening" in daemon.proc.stderr.readline()
        assert daemon.proc.poll() is None
        again = run(client, "-c", "echo fast-again", env=guardsh_env, cwd=tmp_path)
        assert again.stdout == b"fast-again\n" and FELL_BACK not in again.stderr, again.stderr
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_client_built_to_fall_back_to_itself_runs_nothing(tmp_path: Path, socket_dir: Path, guardsh_env) -> None:  # type: ignore[no-untyped-def]
    loop = build_client(tmp_path / "loop", tmp_path / "loop" / "guardsh", socket_dir)
    got = run(loop, "-c", "echo must-not-run", env=guardsh_env, cwd=tmp_path)
    assert got.returncode == 125 and got.stdout == b"" and b"nothing was run" in got.stderr


def test_allowed_overwrite_is_saved_first_like_python(client: Path, daemon, guardsh_env, sandbox_home: Path,  # type: ignore[no-untyped-def]
                                                      gitdir: Path) -> None:
    """An allowed command that overwrites a file with uncommitted changes: the daemon saves it (a
    snapshot, issue 14) before it answers, as the Python path does before the exec."""
    (gitdir / "notes.txt").write_text("mine\n")
    got = run(client, "-c", "echo overwritten > notes.txt", env=guardsh_env, cwd=gitdir)
    assert FELL_BACK not in got.stderr and got.returncode == 0, got.stderr
    assert (gitdir / "notes.txt").read_text() == "overwritten\n"
    log = (sandbox_home / ".local" / "state" / "guardsh" / "audit.jsonl").read_text().splitlines()
    record = [line for line in log if "echo overwritten" in line][-1]
    assert '"snapshot":"' in record
    # the modules that saving imported are new to the daemon, not changed: it answers on, no restart
    for _ in range(3):
        again = run(client, "-c", "echo again", env=guardsh_env, cwd=gitdir)
        assert FELL_BACK not in again.stderr, again.stderr


def test_impostor_borrowing_a_genuine_daemons_pid(client: Path, guardsh_bin: Path, socket_dir: Path, start_daemon,  # type: ignore[no-untyped-def]
                                                  guardsh_env, tmp_path: Path) -> None:
    """A process listens on our socket, leaves a child there that allows everything, and execs the
    genuine daemon for another directory: SO_PEERCRED names a genuine daemon, but not ours."""
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    forger = tmp_path / "forger.py"
    forger.write_text(
        "import os, socket, sys\n"
        f"s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.bind({str(socket_dir / 'daemon.sock')!r})\n"
        "s.listen(16)\n"
        "if os.fork() == 0:\n"
        f"    open({str(tmp_path / 'forger.pid')!r}, 'w').write(str(os.getpid()))\n"
        "    payload = b'allow\\0/bin/bash\\0\\0forged\\0'\n"
        "    while True:\n"
        "        c, _ = s.accept()\n"
        "        c.recv(1 << 20)\n"
        "        c.sendall(b'GSH1' + len(payload).to_bytes(4, 'little') + payload)\n"
        "        c.close()\n"
        f"os.execv({str(guardsh_bin)!r}, [{str(guardsh_bin)!r}, 'daemon', 'run', '--socket-dir', {str(other)!r}])\n"
    )
    import sys

    from conftest import Daemon

    d = Daemon([sys.executable, str(forger)], guardsh_env, b"listening")
    try:
        got = run(client, "-c", REFUSED_TEXT, env=guardsh_env, cwd=tmp_path)
        assert b"python path: the daemon is not the genuine one" in got.stderr, got.stderr
        assert got.returncode == 126
    finally:
        try:  # the forged child dies by itself when the client hangs up on it unasked
            os.kill(int((tmp_path / "forger.pid").read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass
        d.stop()
