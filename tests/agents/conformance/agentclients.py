"""The real agent clients, pinned, installed into a cache, and driven through one shell mode each.

``ensure(client)`` installs a client once into ``$GUARDSH_CONFORMANCE_CACHE`` (default
``$XDG_CACHE_HOME/guardsh-conformance``, else ``~/.cache/guardsh-conformance``), one directory per
``name@version``, reused when complete: npm clients with ``npm install --prefix``, Python clients in
a virtualenv of their own.  ``Client.run(mode, commands, ...)`` runs the client in a network
namespace of its own (``jail.py``) against its scripted model server and returns what the agent
showed the model for each command, normalised only where the client itself varies from run to run
(process ids, timings).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
JAIL = HERE / "jail.py"
PROMPT = "Run the shell commands you are given."

# Pinned versions: the README's agent table says what these versions were proven to do.
NPM = {"claude-code": ("@anthropic-ai/claude-code", "2.1.332", "claude"),
       "codex": ("@openai/codex", "0.171.0", "codex"),
       "gemini-cli": ("@google/gemini-cli", "0.61.0", "gemini")}
PYPI = {"aider-chat": ("aider-chat", "0.86.2"), "swe-rex": ("swe-rex", "1.4.0")}

TIMINGS: dict[str, float] = {}  # install seconds per client (0 when the cache had it)


class InstallError(Exception):
    pass


def cache_root() -> Path:
    root = os.environ.get("GUARDSH_CONFORMANCE_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "guardsh-conformance"


def ensure(client: str) -> Path:
    """The install directory of ``client`` (installed now if the cache lacks it)."""
    if client in NPM:
        package, version, _ = NPM[client]
    else:
        package, version = PYPI[client]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{client}@{version}"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            TIMINGS.setdefault(f"install {client}", 0.0)
            return target
        shutil.rmtree(target, ignore_errors=True)
        started = time.monotonic()
        if client in NPM:
            npm = shutil.which("npm")
            if not npm:
                raise InstallError("npm is not installed (Node.js 18+ is needed for this client)")
            cmd = [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--loglevel=error",
                   f"{package}@{version}"]
            steps = [cmd]
        else:
            py = str(target / "bin" / "python")
            steps = [[sys.executable, "-m", "venv", str(target)],
                     [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{package}=={version}"]]
        for step in steps:
            r = subprocess.run(step, capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                raise InstallError(f"{' '.join(step)} failed ({r.returncode}): {r.stderr[-2000:]}")
        (target / ".complete").write_text(f"{package} {version}\n")
        TIMINGS[f"install {client}"] = time.monotonic() - started
    return target


# --- the workspace every run starts from ------------------------------------------------------

GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def make_workspace(ws: Path) -> None:
    """A small git project, identical (same commit ids) every time it is made."""
    shutil.rmtree(ws, ignore_errors=True)
    (ws / "src").mkdir(parents=True)
    (ws / "README.md").write_text("# demo\n\nA small project.\nTODO: write docs\n")
    (ws / "src" / "app.py").write_text("def main():\n    # TODO: more\n    return 42\n")
    (ws / "src" / "util.py").write_text("X = 1\n")
    env = dict(os.environ, **GIT_ENV)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "first"]):
        subprocess.run(cmd, cwd=ws, env=env, check=True, capture_output=True)
    (ws / "src" / "util.py").write_text("X = 2\n")  # an unstaged change for git diff


# The start-up files of a stock Debian/Ubuntu account (their lines that run anything): agents
# source them (Claude Code's snapshot, Codex's login shell, bash -i -c).
BASHRC = """\
case $- in *i*) ;; *) return;; esac
HISTCONTROL=ignoreboth
shopt -s histappend checkwinsize
[ -x /usr/bin/lesspipe ] && eval "$(SHELL=/bin/sh lesspipe)"
if [ -x /usr/bin/dircolors ]; then
    test -r ~/.dircolors && eval "$(dircolors -b ~/.dircolors)" || eval "$(dircolors -b)"
    alias ls='ls --color=auto'
    alias grep='grep --color=auto'
fi
alias ll='ls -alF'
if [ -f ~/.bash_aliases ]; then . ~/.bash_aliases; fi
"""
PROFILE = """\
if [ -n "$BASH_VERSION" ]; then
    if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi
fi
if [ -d "$HOME/bin" ] ; then PATH="$HOME/bin:$PATH"; fi
"""


def fresh_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "notes").mkdir()
    (home / "notes" / "keep.txt").write_text("the user's own notes, outside the project\n")
    (home / ".gitconfig").write_text("[user]\n\tname = Dev\n\temail = dev@example.com\n")
    (home / ".bashrc").write_text(BASHRC)
    (home / ".profile").write_text(PROFILE)


def base_env(home: Path) -> dict[str, str]:
    keep = ("LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    # the system's tools (and node's directory): no version-manager shims (pyenv's python3 is
    # a bash script; through guardsh it is classified as one, which is another test)
    node = shutil.which("node")
    dirs = [os.path.dirname(node)] if node else []
    env["PATH"] = ":".join(dict.fromkeys(dirs + ["/usr/local/bin", "/usr/bin", "/bin"]))
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_STATE_HOME=str(home / ".local" / "state"), TERM="dumb", SHELL="/bin/bash",
               NO_COLOR="1", LANG=env.get("LANG", "C.UTF-8"),
               PAGER="cat", GIT_PAGER="cat")  # as SWE-agent sets them: no pager waits on a PTY
    return env


def shell_links(guardsh_bin: Path, where: Path) -> Path:
    """A directory with links named bash and sh to the guardsh launcher (what install.sh makes)."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("bash", "sh"):
        link = where / name
        if not link.is_symlink():
            link.symlink_to(guardsh_bin)
    return where / "bash"


def jail(api: str, commands: list[str], argv: list[str], env: dict[str, str], cwd: Path, out: Path,
         timeout: float = 240, login_shell: str | None = None) -> dict[str, Any]:
    script = out.with_suffix(".script.json")
    script.write_text(json.dumps(commands))
    cmd = [sys.executable, str(JAIL), "--api", api, "--script", str(script), "--out", str(out),
           "--timeout", str(timeout), "--require-netns"]
    if login_shell:
        cmd += ["--login-shell", login_shell]
    r = subprocess.run(cmd + ["--"] + argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout + 60)
    if r.returncode != 0:
        raise AssertionError(f"jail failed ({r.returncode}): {r.stderr[-3000:]}")
    return json.loads(out.read_text())


# --- the clients ------------------------------------------------------------------------------

class Client:
    name = ""
    api = ""
    modes: tuple[str, ...] = ()

    def __init__(self, guardsh_bin: Path, base: Path) -> None:
        self.guardsh = guardsh_bin
        self.base = base
        self.ws = base / "ws"
        self.home = base / "home"
        self.links = base / "links"

    def install(self) -> Path:
        return ensure(self.name)

    def bin(self) -> str:
        return str(self.install() / "node_modules" / ".bin" / NPM[self.name][2])

    def prepare(self) -> dict[str, str]:
        make_workspace(self.ws)
        fresh_home(self.home)
        return base_env(self.home)

    def hook_install(self, agent: str, env: dict[str, str]) -> None:
        r = subprocess.run([str(self.guardsh), "hook", "install", agent], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def baseline_mode(self, mode: str) -> str:
        """The run with the real bash that ``mode`` is compared with."""
        return "bash"

    def comparable(self, result: Any) -> Any:
        """What must be identical to the real bash's run (everything, but for aider's terminal)."""
        return result

    def outputs(self, run: dict[str, Any], n: int) -> list[Any]:
        results = run["results"]
        return [self.normalise(results.get(str(i))) for i in range(n)]

    def normalise(self, result: Any) -> Any:
        return result


class ClaudeCode(Client):
    name, api = "claude-code", "anthropic"
    modes = ("wrap", "shell-env", "hook")

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        env = self.prepare()
        env.update(ANTHROPIC_BASE_URL="http://127.0.0.1:{PORT}", ANTHROPIC_API_KEY="sk-ant-conformance",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
        argv = [self.bin(), "-p", PROMPT, "--allowedTools", "Bash", "--output-format", "text"]
        if mode == "wrap":
            argv = [str(self.guardsh), "wrap", "--"] + argv
        elif mode == "shell-env":
            env["CLAUDE_CODE_SHELL"] = str(shell_links(self.guardsh, self.links))
        elif mode == "hook":
            self.hook_install("claude-code", env)
        return jail(self.api, commands, argv, env, self.ws, self.base / f"{mode}.json")

    def normalise(self, result: Any) -> Any:
        if not result:
            return result
        content = result.get("content")
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
        return {"content": content, "is_error": result.get("is_error")}


class Codex(Client):
    name, api = "codex", "responses"
    modes = ("login-shell", "hook")

    def prepare(self) -> dict[str, str]:
        env = super().prepare()
        codex_home = self.home / ".codex"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(
            'model = "gpt-5-codex"\nmodel_provider = "fake"\napproval_policy = "never"\n'
            'sandbox_mode = "danger-full-access"\ncheck_for_update_on_startup = false\n\n'
            '[model_providers.fake]\nname = "fake"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'env_key = "FAKE_API_KEY"\nwire_api = "responses"\n')
        env.update(CODEX_HOME=str(codex_home), FAKE_API_KEY="conformance")
        return env

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        env = self.prepare()
        argv = [self.bin(), "exec", "-c", 'model_providers.fake.base_url="http://127.0.0.1:{PORT}/v1"',
                "--skip-git-repo-check", PROMPT]
        login_shell = None
        if mode == "login-shell":
            login_shell = str(shell_links(self.guardsh, self.links))
        elif mode == "hook":
            self.hook_install("codex", env)
        elif mode == "wrap":
            argv = [str(self.guardsh), "wrap", "--"] + argv
        return jail(self.api, commands, argv, env, self.ws, self.base / f"{mode}.json", login_shell=login_shell)

    def normalise(self, result: Any) -> Any:
        if not result:
            return result
        out = result.get("output")
        if isinstance(out, str):
            out = re.sub(r"^(Chunk ID|Wall time): .*\n", "", out, flags=re.M)
            # Codex's own rejections quote the shell it would have run, by its path
            out = re.sub(r"`/\S*/bash -lc ", "`bash -lc ", out)
        return out


class GeminiCli(Client):
    name, api = "gemini-cli", "gemini"
    modes = ("wrap", "hook")

    def prepare(self) -> dict[str, str]:
        env = super().prepare()
        (self.home / ".gemini").mkdir()
        (self.home / ".gemini" / "settings.json").write_text(json.dumps({
            "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
            "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False}}))
        env.update(GEMINI_API_KEY="conformance", GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:{PORT}")
        return env

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        env = self.prepare()
        argv = [self.bin(), "-p", PROMPT, "--yolo"]
        if mode == "wrap":
            argv = [str(self.guardsh), "wrap", "--"] + argv
        elif mode == "hook":
            self.hook_install("gemini", env)
        return jail(self.api, commands, argv, env, self.ws, self.base / f"{mode}.json")

    def normalise(self, result: Any) -> Any:
        if not result:
            return result
        response = result.get("response") or {}
        out = response.get("output", response.get("error"))
        if isinstance(out, str):
            out = re.sub(r"^Process Group PGID: \d+\n?", "", out, flags=re.M)
        return out


class PythonClient(Client):
    """aider and SWE-ReX, driven through their Python APIs by a driver script in their venv."""

    driver = ""

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        env = self.prepare()
        py = str(self.install() / "bin" / "python")
        out = self.base / f"{getattr(self, 'label', mode)}.json"
        results = out.with_suffix(".results.json")
        results.unlink(missing_ok=True)
        argv = [py, str(HERE / self.driver), str(out.with_suffix(".script.json")), str(results)]
        if getattr(self, "tty", False):
            argv.append("--tty")
        if mode == "wrap":
            argv = [str(self.guardsh), "wrap", "--"] + argv
        run = jail("none", commands, argv, env, self.ws, out)
        run["results"] = json.loads(results.read_text()) if results.exists() else {}
        return run


class Aider(PythonClient):
    name, driver = "aider-chat", "drive_aider.py"
    # wrap: aider in a terminal, /run is $SHELL -i -c under pexpect (compared: what aider shows);
    # wrap-no-tty: scripted, /run is subprocess(shell=True), /bin/sh -c by its path
    modes = ("wrap", "wrap-no-tty")

    def run(self, mode: str, commands: list[str]) -> dict[str, Any]:
        self.tty = not mode.endswith("-no-tty")
        self.label = mode
        return super().run(mode.replace("-no-tty", ""), commands)

    def baseline_mode(self, mode: str) -> str:
        return "bash-no-tty" if mode.endswith("-no-tty") else "bash"

    def comparable(self, result: Any) -> Any:
        # in a terminal, aider shows a quick command's output only if it arrives after pexpect's
        # interact() started: with the real bash it loses `cat README.md` now and then.  Only the
        # exit status is aider's own; the refusal text is checked in full.
        if isinstance(result, dict) and "terminal" in result:
            return {"exit_code": result.get("exit_code")}
        return result


class SweRex(PythonClient):
    name, driver = "swe-rex", "drive_swerex.py"
    modes = ("wrap",)


CLIENTS = {c.name: c for c in (ClaudeCode, Codex, GeminiCli, Aider, SweRex)}
