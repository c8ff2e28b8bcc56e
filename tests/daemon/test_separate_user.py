"""The separate-user mode, with real processes of two users: the daemon runs as a throw-away
system user D (``guardsh daemon start`` as root drops to it), the agent's commands run as a
throw-away user A through the native client built with ``-DGUARDSH_DAEMON_UID=D``.

The installation lives in a temporary tree that both users can reach (the checkout and its
virtualenv may sit under root's private home): a copy of the package and its rules, a
system-mode launcher (root-owned), its ``etc`` (``locked: true``), the daemon's state and socket
directories.  Needs root (to create the users and switch to them); skipped otherwise."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from conftest import IMPOSTOR, compiler

REPO = Path(__file__).resolve().parents[2]
FELL_BACK = b"guardsh-client: python path:"
REFUSED_TEXT = "git push --force origin main"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="two users: creating them and switching needs root")


def _reachable(path: str) -> bool:
    """Every directory above ``path`` can be entered by others, and the file read and run."""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts)):
        if not os.stat("/".join(parts[:i])).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o005 == 0o005)


def _interpreter() -> str:
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        if os.path.exists(candidate) and _reachable(candidate):
            ok = subprocess.run([candidate, "-IS", "-c", "import sys; assert sys.version_info >= (3, 10)"],
                                capture_output=True)
            if ok.returncode == 0:
                return os.path.realpath(candidate)
    pytest.skip("no Python 3.10+ that another user can run (this one lives under a private directory)")


class World:
    """The temporary system installation and its two users."""

    def __init__(self) -> None:
        for tool in ("useradd", "userdel"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} is missing: cannot create the throw-away users")
        self.root = Path(tempfile.mkdtemp(prefix="guardsh-sepuser-", dir="/tmp"))
        self.root.chmod(0o755)
        self.users: list[str] = []
        try:
            self._set_up()
        except BaseException:
            self.close()
            raise

    def _set_up(self) -> None:
        tag = secrets.token_hex(3)
        self.daemon_user, self.agent_user = f"gshd-{tag}", f"gsha-{tag}"
        self.python = _interpreter()
        lib = self.root / "lib"
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "guardsh", lib / "guardsh", ignore=ignore)
        shutil.copytree(REPO / "rules.d", lib / "rules.d")
        shutil.copytree(REPO / "previews.d", lib / "previews.d")
        import yaml

        shutil.copytree(Path(yaml.__file__).parent, lib / "yaml", ignore=ignore)
        subprocess.run([self.python, "-m", "compileall", "-q", str(lib)], check=True, capture_output=True)
        self.etc, self.state, self.run = self.root / "etc", self.root / "state", self.root / "run"
        (self.etc / "rules.d").mkdir(parents=True)
        (self.etc / "config.yaml").write_text("locked: true\n")
        self.launcher = self.write_launcher(self.root / "bin" / "guardsh")
        home = self.root / "home"
        home.mkdir(mode=0o755)
        self.add_user(self.daemon_user, "--system", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin")
        self.agent_home = home / "agent"
        self.add_user(self.agent_user, "--home-dir", str(self.agent_home), "--shell", "/bin/bash")
        import pwd

        self.uid_d = pwd.getpwnam(self.daemon_user).pw_uid
        self.uid_a = pwd.getpwnam(self.agent_user).pw_uid
        self.gid_a = pwd.getpwnam(self.agent_user).pw_gid
        self.agent_home.mkdir(mode=0o755)
        os.chown(self.agent_home, self.uid_a, self.gid_a)
        self.work = self.agent_home / "work"  # the agent's project: readable by everyone
        self.as_agent(["mkdir", "-m", "755", str(self.work)], check=True)
        self.client = self.build_client(self.root / "client", self.launcher, self.run)

    def write_launcher(self, path: Path, body: str = "from guardsh.cli import main\nsys.exit(main())\n") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"#!{self.python} -IS\n"
            "# guardsh-launcher (tests: separate-user mode)\n"
            "import sys\n"
            f"sys.path[0:0] = [{str(self.root / 'lib')!r}]\n"
            "import guardsh.paths\n"
            f"guardsh.paths.set_system(etc={str(self.etc)!r}, state={str(self.state)!r}, run={str(self.run)!r}, "
            f"user={self.daemon_user!r})\n" + body)
        path.chmod(0o755)
        return path

    def build_client(self, out: Path, launcher: Path, socket_dir: Path, timeout_ms: int = 2000) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        binary = out / "guardsh"
        subprocess.run([compiler(), "-O2", "-Wall", "-o", str(binary), str(REPO / "native" / "guardsh-client.c"),
                        f'-DGUARDSH_LAUNCHER="{launcher}"', f'-DGUARDSH_PYTHON="{self.python}"',
                        f'-DGUARDSH_SOCKET_DIR="{socket_dir}"', f"-DGUARDSH_TIMEOUT_MS={timeout_ms}",
                        f"-DGUARDSH_DAEMON_UID={self.uid_d}"], check=True, capture_output=True)
        return binary

    def add_user(self, name: str, *opts: str) -> None:
        subprocess.run(["useradd", "--no-create-home", "--user-group", *opts, name], check=True, capture_output=True)
        self.users.append(name)

    def agent_env(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.agent_home), "PATH": "/usr/local/bin:/usr/bin:/bin", "USER": self.agent_user,
                "LANG": "C.UTF-8", "GUARDSH_CLIENT_DEBUG": "1", **extra}

    def as_agent(self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
                 input: bytes | None = None, executable: str | None = None,
                 check: bool = False) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(argv, executable=executable, cwd=cwd or self.agent_home, env=env or self.agent_env(),
                              input=input, capture_output=True, timeout=120, check=check,
                              user=self.uid_a, group=self.gid_a, extra_groups=[])

    def as_daemon_user(self, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        import pwd

        gid = pwd.getpwnam(self.daemon_user).pw_gid
        return subprocess.Popen(argv, cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": "/", **env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=self.uid_d, group=gid, umask=0o111,
                                extra_groups=[])

    def daemon(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``guardsh daemon ARGS`` as root, through the system-mode launcher."""
        return subprocess.run([str(self.launcher), "daemon", *args], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "HOME": "/root"})

    def ask(self, text: str, cwd: Path) -> tuple[str, str]:
        """(verdict, reason) of the daemon for ``-c TEXT`` asked by the agent over the socket: why
        it fell back, which the client does not print."""
        code = ("import socket, sys\n"
                f"sys.path[0:0] = [{str(self.root / 'lib')!r}]\n"
                "from guardsh.daemon import protocol\n"
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                f"s.connect({str(self.run / 'daemon.sock')!r})\n"
                f"s.sendall(protocol.encode_request('q', {str(self.client)!r}, ['-c', sys.argv[1]], {str(cwd)!r}, False, "
                f"{self.agent_env()!r}))\n"
                "data = b''\n"
                "while chunk := s.recv(65536):\n"
                "    data += chunk\n"
                "verdict, _bash, _token, why = protocol.parse_answer(data[8:8 + protocol.header_length(data[:8])])\n"
                "print(verdict + '|' + why)\n")
        got = self.as_agent([self.python, "-IS", "-c", code, text], cwd=cwd, check=True)
        verdict, _, why = got.stdout.decode().strip().partition("|")
        return verdict, why

    def daemon_pid(self) -> int:
        return int((self.run / "daemon.pid").read_text())

    def close(self) -> None:
        if hasattr(self, "launcher"):
            self.daemon("stop")
        for name in self.users:
            subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.close()


@pytest.fixture()
def running(world: World) -> World:
    """The genuine daemon, started as root and running as the daemon user."""
    if world.daemon("status").returncode != 0:
        started = world.daemon("start")
        assert started.returncode == 0 and "started" in started.stdout, started
    return world


# --- the allow path: another user's daemon, exactly bash -------------------------------------------

IO_CASES = [
    ("-c", 'echo "$0" "$#" "$@"; id -u; exit 7', "name", "a b"),
    ("-c", "echo out; echo err >&2; cat; exit 3"),
    ("-o", "pipefail", "-c", "yes | head -1"),
]


@pytest.mark.parametrize("args", IO_CASES)
def test_agent_gets_allow_from_the_daemon_user_and_io_is_bash(args: tuple[str, ...], running: World) -> None:
    w = running
    data = b"first line\nsecond \x00 binary\xff\n"
    got = w.as_agent([str(w.client), *args], cwd=w.work, input=data)
    assert FELL_BACK not in got.stderr, got.stderr
    want = w.as_agent([str(w.client), *args], executable="/bin/bash", cwd=w.work, input=data)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)


def test_the_daemon_runs_as_its_user_and_audits_in_its_own_trail(running: World) -> None:
    w = running
    pid = w.daemon_pid()
    assert os.stat(f"/proc/{pid}").st_uid == w.uid_d
    st = os.stat(w.run)
    assert (st.st_uid, st.st_mode & 0o777) == (w.uid_d, 0o755)
    got = w.as_agent([str(w.client), "-c", "echo audited-by-the-daemon-user"], cwd=w.work)
    assert got.stdout == b"audited-by-the-daemon-user\n" and FELL_BACK not in got.stderr, got.stderr
    trail = w.state / "audit" / f"uid-{w.uid_a}.jsonl"
    record = [line for line in trail.read_text().splitlines() if "audited-by-the-daemon-user" in line][-1]
    assert f'"uid":{w.uid_a},' in record and f'"user":"{w.agent_user}"' in record and '"outcome":"exec"' in record
    assert os.stat(trail).st_uid == w.uid_d
    tamper = w.as_agent(["sh", "-c", f"echo forged >> {trail} || rm -f {trail}"])
    assert tamper.returncode != 0 and trail.exists() and "forged" not in trail.read_text()
    # a command the daemon does not answer: the Python path, as the agent, records in the agent's own trail
    refused = w.as_agent([str(w.client), "-c", REFUSED_TEXT], cwd=w.work)
    assert refused.returncode == 126 and b"python path: not allowed by the daemon" in refused.stderr
    own = w.agent_home / ".local" / "state" / "guardsh" / "audit.jsonl"
    assert REFUSED_TEXT in own.read_text()


def test_agent_cannot_kill_the_daemon(running: World) -> None:
    w = running
    pid = w.daemon_pid()
    tried = w.as_agent([w.python, "-IS", "-c",
                        f"import os, signal\ntry:\n    os.kill({pid}, signal.SIGKILL)\nexcept PermissionError:\n"
                        "    raise SystemExit(13)\n"])
    assert tried.returncode == 13, tried.stderr
    assert w.daemon("status").returncode == 0
    got = w.as_agent([str(w.client), "-c", "echo still-fast"], cwd=w.work)
    assert got.stdout == b"still-fast\n" and FELL_BACK not in got.stderr


def test_agents_own_rules_and_config_are_ignored(running: World) -> None:
    """The agent's ~/.config/guardsh would allow a forced push (a rule and the decisions table):
    a user-mode guardsh obeys it; in the separate-user mode neither the daemon nor the Python path
    reads it."""
    w = running
    cfg = w.agent_home / ".config" / "guardsh"
    w.as_agent(["mkdir", "-p", str(cfg / "rules.d")], check=True)
    w.as_agent(["sh", "-c", f"cat > {cfg}/config.yaml"], input=b"decisions: {destructive: allow, catastrophic: allow}\n",
               check=True)
    w.as_agent(["sh", "-c", f"cat > {cfg}/rules.d/zz-agent.yaml"], input=(
        b"rules:\n"
        b"  - id: agent-allows-everything\n"
        b"    risk: read-only\n"
        b"    reason: the agent wrote this\n"
        b"    match: {program: git}\n"
        b"    examples: {hit: [git push], miss: [ls]}\n"), check=True)
    plain = w.root / "bin" / "guardsh-user-mode"
    plain.write_text("\n".join(line for line in w.launcher.read_text().splitlines() if "set_system" not in line) + "\n")
    plain.chmod(0o755)
    try:
        obeyed = w.as_agent([str(plain), "-c", REFUSED_TEXT], cwd=w.work)  # user mode: the agent's config rules
        assert obeyed.returncode == 128 and b"not a git repository" in obeyed.stderr, obeyed.stderr
        via_client = w.as_agent([str(w.client), "-c", REFUSED_TEXT], cwd=w.work)
        assert b"python path: not allowed by the daemon" in via_client.stderr
        assert via_client.returncode == 126 and b"git-push-force" in via_client.stderr
        via_python = w.as_agent([str(w.launcher), "-c", REFUSED_TEXT], cwd=w.work)
        assert via_python.returncode == 126 and b"git-push-force" in via_python.stderr
        check = w.as_agent([str(w.launcher), "check", "--", "git push --force origin main"], cwd=w.work)
        assert b"agent-allows-everything" not in check.stdout + check.stderr
    finally:
        shutil.rmtree(cfg)


def test_cwd_the_daemon_cannot_enter_falls_back(running: World) -> None:
    w = running
    private = w.agent_home / "private"
    w.as_agent(["mkdir", "-m", "700", str(private)], check=True)
    w.as_agent(["mkdir", str(private / "keep")], check=True)
    ok = w.as_agent([str(w.client), "-c", "echo decided-by-python; pwd"], cwd=private)
    assert b"python path: not allowed by the daemon" in ok.stderr
    assert ok.returncode == 0 and ok.stdout == f"decided-by-python\n{private}\n".encode()
    assert w.ask("echo decided-by-python", private) == ("fallback", f"PermissionError: [Errno 13] Permission denied: "
                                                                     f"'{private}'")
    refused = w.as_agent([str(w.client), "-c", "rm -rf keep ~/work"], cwd=private)
    assert refused.returncode == 126 and (private / "keep").is_dir()


def test_file_the_daemon_cannot_read_falls_back(running: World) -> None:
    """The cwd can be entered, but the script the command runs is the agent's alone: the daemon's
    read is refused, so it does not answer; the Python path reads the script, as the agent."""
    w = running
    script = w.work / "deploy.sh"
    w.as_agent(["sh", "-c", f"printf 'rm -rf \"$HOME/work\"\\n' > {script}; chmod 700 {script}"], check=True)
    got = w.as_agent([str(w.client), "-c", "./deploy.sh"], cwd=w.work)
    assert b"python path: not allowed by the daemon" in got.stderr
    assert got.returncode == 126 and w.work.is_dir(), got.stderr
    verdict, why = w.ask("./deploy.sh", w.work)
    assert verdict == "fallback" and why.startswith("as the daemon's user, denied ") and "deploy.sh" in why, why
    harmless = w.work / "hello.sh"
    w.as_agent(["sh", "-c", f"printf 'echo hello-from-script\\n' > {harmless}; chmod 700 {harmless}"], check=True)
    runs = w.as_agent([str(w.client), "-c", "./hello.sh"], cwd=w.work)
    assert b"python path: not allowed by the daemon" in runs.stderr
    assert runs.returncode == 0 and runs.stdout == b"hello-from-script\n"
    assert w.ask("cat hello.sh", w.work)[0] == "allow"  # read by cat, as the agent: the classifier needs only its name


def test_unreadable_git_alias_falls_back(running: World) -> None:
    """A read the engine would swallow: the agent's ~/.gitconfig (0600) makes `git st` delete the
    home. The daemon cannot read it (it would see an unknown subcommand); the kernel's refusal
    makes it fall back, and the Python path, reading it as the agent, refuses."""
    w = running
    gitconfig = w.agent_home / ".gitconfig"
    w.as_agent(["sh", "-c", f"printf '[alias]\\n\\tst = !rm -rf ~/work\\n' > {gitconfig}; chmod 600 {gitconfig}"],
               check=True)
    try:
        verdict, why = w.ask("git st", w.work)
        assert verdict == "fallback" and why.startswith("as the daemon's user, denied ") and ".gitconfig" in why, why
        got = w.as_agent([str(w.client), "-c", "git st"], cwd=w.work)
        assert got.returncode == 126 and w.work.is_dir(), got.stderr
    finally:
        gitconfig.unlink()
    assert w.ask("git st", w.work)[0] == "allow"  # nothing unreadable left: the same answer as the Python path


def test_destruction_undo_would_save_goes_to_python(running: World) -> None:
    w = running
    repo = w.work / "repo"
    w.as_agent(["git", "init", "-q", str(repo)], check=True)
    w.as_agent(["sh", "-c", f"echo mine > {repo}/notes.txt"], check=True)
    got = w.as_agent([str(w.client), "-c", "echo overwritten > notes.txt"], cwd=repo)
    assert b"python path: not allowed by the daemon" in got.stderr and got.returncode == 0, got.stderr
    assert (repo / "notes.txt").read_text() == "overwritten\n"
    assert w.ask("echo again > notes.txt", repo) == ("fallback", "undo: the Python path saves it as the user")
    own = (w.agent_home / ".local" / "state" / "guardsh" / "audit.jsonl").read_text().splitlines()
    assert '"snapshot":"' in [line for line in own if "echo overwritten" in line][-1]  # saved as the agent


def test_hook_through_the_daemon_user(running: World) -> None:
    """``guardsh hook claude-code`` as the agent: the daemon user's answer is the Python hook's, byte
    for byte, and its record is in the daemon's trail; a hook whose cwd the daemon cannot enter
    falls back to the Python hook."""
    import json

    w = running

    def data(command: str, cwd: Path) -> bytes:
        return json.dumps({"session_id": "s-sep", "cwd": str(cwd), "hook_event_name": "PreToolUse", "tool_name": "Bash",
                           "tool_input": {"command": command}}).encode()

    fast = w.as_agent([str(w.client), "hook", "claude-code"], cwd=w.work, input=data("echo hook-sep", w.work))
    slow = w.as_agent([str(w.launcher), "hook", "claude-code"], cwd=w.work, input=data("echo hook-sep", w.work))
    assert FELL_BACK not in fast.stderr, fast.stderr
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout)
    trail = (w.state / "audit" / f"uid-{w.uid_a}.jsonl").read_text().splitlines()
    record = json.loads([line for line in trail if "hook-sep" in line][-1])
    assert record["uid"] == w.uid_a and record["hook"] == "claude-code"
    private = w.agent_home / "private-hook"
    w.as_agent(["mkdir", "-m", "700", str(private)], check=True)
    got = w.as_agent([str(w.client), "hook", "claude-code"], cwd=private, input=data("echo in-private", private))
    assert b"python path: not allowed by the daemon" in got.stderr and got.returncode == 0
    assert got.stdout == w.as_agent([str(w.launcher), "hook", "claude-code"], cwd=private,
                                    input=data("echo in-private", private)).stdout


def test_system_rules_changed_before_next_answer(running: World) -> None:
    """A rule root adds to the system rules.d counts before the daemon's next answer, and for the
    Python path of the agent (which cannot write the shared cache: it compiles in memory)."""
    w = running
    assert w.ask("guardsh-sep-tool --go", w.work)[0] == "allow"
    rule = w.etc / "rules.d" / "zz-sep-test.yaml"
    rule.write_text("rules:\n"
                    "  - id: guardsh-sep-tool\n"
                    "    risk: destructive\n"
                    "    reason: a test rule\n"
                    "    match: {program: guardsh-sep-tool}\n"
                    "    examples: {hit: [guardsh-sep-tool --go], miss: [ls]}\n")
    try:
        assert w.ask("guardsh-sep-tool --go", w.work) == ("fallback", "not allowed at once")
        got = w.as_agent([str(w.launcher), "-c", "guardsh-sep-tool --go"], cwd=w.work)
        assert got.returncode == 126 and b"guardsh-sep-tool" in got.stderr, got.stderr
    finally:
        rule.unlink()
    assert w.ask("guardsh-sep-tool --go", w.work)[0] == "allow"


# --- never an allow from anything else -----------------------------------------------------------

def _impostor(w: World, directory: Path, mode: str = "allow") -> subprocess.Popen[bytes]:
    """An impostor daemon run as the agent, listening in ``directory``."""
    code = w.root / "impostor.py"
    code.write_text("import sys\nsys.argv[1:] = ['--socket-dir', sys.argv[1]]\n" + IMPOSTOR)
    code.chmod(0o755)
    env = w.agent_env(IMPOSTOR_MODE=mode)
    p = subprocess.Popen([w.python, str(code), str(directory)], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=w.uid_a, group=w.gid_a,
                         extra_groups=[])
    assert p.stderr is not None and b"listening" in p.stderr.readline()
    return p


def _stop(p: subprocess.Popen[bytes]) -> None:
    p.kill()
    p.wait(timeout=30)
    if p.stderr:
        p.stderr.close()


@pytest.mark.parametrize("case, reason", [
    ("agent's directory", b"socket directory not ours"),
    ("agent's socket", b"the socket is not ours"),
    ("agent's listener", b"the daemon is not the genuine one"),
    ("writable directory", b"socket directory not ours or not private"),
])
def test_agent_impostor_gets_no_allow(case: str, reason: bytes, world: World) -> None:
    w = world
    slug = case.replace("'", "").replace(" ", "-")
    directory = w.root / f"fake-{slug}"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    imp = _impostor(w, directory)
    try:
        if case == "agent's directory":
            os.chown(directory, w.uid_a, w.gid_a)
            directory.chmod(0o755)
        elif case == "writable directory":  # the daemon user's, but anyone may replace the socket in it
            os.chown(directory, w.uid_d, -1)
            os.chown(directory / "daemon.sock", w.uid_d, -1)
            (directory / "daemon.sock").chmod(0o666)
        else:  # the directory is the daemon user's (0755); the socket in it is the agent's, or looks genuine
            os.chown(directory, w.uid_d, -1)
            directory.chmod(0o755)
            if case == "agent's listener":
                os.chown(directory / "daemon.sock", w.uid_d, -1)
                (directory / "daemon.sock").chmod(0o666)
        client = w.build_client(w.root / f"c-{slug}", w.launcher, directory)
        got = w.as_agent([str(client), "-c", REFUSED_TEXT], cwd=w.work)
        assert b"python path: " + reason in got.stderr, got.stderr
        assert got.returncode == 126
        ok = w.as_agent([str(client), "-c", "echo python-decides"], cwd=w.work)
        assert ok.stdout == b"python-decides\n" and FELL_BACK in ok.stderr
    finally:
        _stop(imp)


def test_dead_or_hung_daemon(world: World) -> None:
    """The daemon user's process that hangs (it passes every identity check), then a socket nobody
    listens on: the Python path decides."""
    w = world
    w.daemon("stop")
    fake = w.write_launcher(w.root / "bin" / "impostor", body=(
        "if sys.argv[1:3] != ['daemon', 'run']:\n"
        "    from guardsh.cli import main\n"
        "    sys.exit(main())\n"
        "import os\n" + IMPOSTOR))
    directory = w.root / "hung"
    directory.mkdir(mode=0o755)
    os.chown(directory, w.uid_d, -1)
    client = w.build_client(w.root / "c-hung", fake, directory, timeout_ms=100)
    hung = w.as_daemon_user([str(fake), "daemon", "run", "--socket-dir", str(directory)], IMPOSTOR_MODE="hang")
    assert hung.stderr is not None and b"listening" in hung.stderr.readline()
    try:
        got = w.as_agent([str(client), "-c", REFUSED_TEXT], cwd=w.work)
        assert b"python path: no answer in time" in got.stderr, got.stderr
        assert got.returncode == 126
    finally:
        hung.kill()
        hung.wait(timeout=30)
        hung.stderr.close()
    # dead: the socket file stays, nobody listens
    got = w.as_agent([str(client), "-c", "echo runs-anyway"], cwd=w.work)
    assert b"python path: connect failed" in got.stderr and got.stdout == b"runs-anyway\n"
    stopped = w.as_agent([str(w.client), "-c", REFUSED_TEXT], cwd=w.work)
    assert FELL_BACK in stopped.stderr and stopped.returncode == 126


def test_start_and_stop_refused_to_the_agent_and_unit(running: World, tmp_path: Path) -> None:
    w = running
    w.daemon("stop")
    as_agent = w.as_agent([str(w.launcher), "daemon", "start"])
    assert as_agent.returncode == 1 and b"start it as root" in as_agent.stderr
    assert w.daemon("status").returncode == 3
    assert w.daemon("start").returncode == 0
    stop = w.as_agent([str(w.launcher), "daemon", "stop"])
    assert stop.returncode == 1 and b"stop it as root" in stop.stderr and w.daemon("status").returncode == 0
    done = w.daemon("install", "--system", "--no-enable", "--unit-dir", str(tmp_path))
    assert done.returncode == 0, done
    unit = (tmp_path / "guardsh-daemon.service").read_text()
    assert f"User={w.daemon_user}\n" in unit and f"ExecStart={w.launcher} daemon run\n" in unit
    assert "WantedBy=multi-user.target" in unit


def test_daemon_run_as_root_drops_to_the_daemon_user(world: World) -> None:
    """``guardsh daemon run`` started by root (a container's init, by hand) serves as the daemon
    user, never as root; the agent's client trusts it."""
    w = world
    w.daemon("stop")
    proc = subprocess.Popen([str(w.launcher), "daemon", "run"], env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
                            cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None and b"listening" in proc.stderr.readline()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert f"\nUid:\t{w.uid_d}\t{w.uid_d}\t{w.uid_d}\t{w.uid_d}\n" in status
        got = w.as_agent([str(w.client), "-c", "echo served-by-a-dropped-root"], cwd=w.work)
        assert got.stdout == b"served-by-a-dropped-root\n" and FELL_BACK not in got.stderr, got.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def test_socket_is_reachable_by_every_user(running: World) -> None:
    w = running
    st = os.stat(w.run / "daemon.sock")
    assert st.st_uid == w.uid_d and st.st_mode & 0o777 == 0o666
    probe = w.as_agent([w.python, "-IS", "-c", "import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
                        f"s.connect({str(w.run / 'daemon.sock')!r})\n"])
    assert probe.returncode == 0, probe.stderr


# --- install.sh, the separate-user mode, into a temporary tree ---------------------------------------

def test_install_sh_system_mode(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``GUARDSH_SYSTEM=1 ./install.sh`` with every prefix in a temporary tree and a throw-away
    user: the daemon runs as that user, the agent's commands get its allow, the code is root's."""
    if shutil.which("setpriv") is None or shutil.which("useradd") is None:
        pytest.skip("setpriv or useradd is missing")
    compiler()
    import pwd

    root = Path(tempfile.mkdtemp(prefix="guardsh-install-", dir="/tmp"))
    root.chmod(0o755)
    user = f"gshi-{secrets.token_hex(3)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARDSH", "XDG_"))}
    env.update(GUARDSH_SYSTEM="1", GUARDSH_PREFIX=str(root / "opt"), GUARDSH_ETC=str(root / "etc"),
               GUARDSH_STATE=str(root / "state"), GUARDSH_RUN=str(root / "run"), GUARDSH_USER=user,
               GUARDSH_BIN=str(root / "bin"), GUARDSH_UNIT_DIR=str(root / "units"), HOME=str(root / "roothome"),
               GUARDSH_CLIENT_TIMEOUT_MS="10000")  # a busy machine must not turn the daemon's allow into a fallback
    launcher = root / "bin" / "guardsh"
    try:
        done = subprocess.run([str(REPO / "install.sh")], env=env, capture_output=True, text=True, timeout=300,
                              cwd="/")
        if done.returncode != 0 and "installing guardsh" in done.stdout and "writing the launcher" not in done.stdout:
            pytest.skip(f"pip could not install guardsh here (no package index?): {done.stderr[-300:]}")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert f"created the system user {user}" in done.stdout and "separate-user mode: the daemon runs as" in done.stdout
        uid = pwd.getpwnam(user).pw_uid
        assert pwd.getpwnam(user).pw_shell.endswith("nologin")
        assert "guardsh.paths.set_system(" in launcher.read_text() and os.stat(launcher).st_uid == 0
        assert os.stat(root / "opt" / "venv").st_uid == 0 and "locked: true" in (root / "etc" / "config.yaml").read_text()
        for d, mode in (("run", 0o755), ("state", 0o755), ("state/audit", 0o700)):
            st = os.stat(root / d)
            assert (st.st_uid, st.st_mode & 0o777) == (uid, mode), d
        unit = (root / "units" / "guardsh-daemon.service").read_text()
        assert f"User={user}\n" in unit and f"ExecStart={launcher} daemon run\n" in unit
        pid = int((root / "run" / "daemon.pid").read_text())
        assert os.stat(f"/proc/{pid}").st_uid == uid
        agent_home = root / "agent"
        agent_home.mkdir()
        os.chown(agent_home, 65534, 65534)
        client = root / "opt" / "shell" / "bash"
        got = subprocess.run([str(client), "-c", "echo fast; id -u"], cwd=agent_home, capture_output=True, timeout=60,
                             env={"HOME": str(agent_home), "PATH": "/usr/bin:/bin", "GUARDSH_CLIENT_DEBUG": "1"},
                             user=65534, group=65534, extra_groups=[])
        assert got.stdout == b"fast\n65534\n" and FELL_BACK not in got.stderr, got.stderr
        assert "echo fast" in (root / "state" / "audit" / "uid-65534.jsonl").read_text()
        gone = subprocess.run([str(launcher), "daemon", "uninstall", "--system", "--unit-dir", str(root / "units")],
                              capture_output=True, text=True, timeout=60)
        assert gone.returncode == 0 and not (root / "units" / "guardsh-daemon.service").exists(), gone.stderr
    finally:
        if launcher.exists():
            subprocess.run([str(launcher), "daemon", "stop"], capture_output=True, timeout=60)
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
