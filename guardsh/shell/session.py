"""The interactive guarded session: ``guardsh`` on a terminal with no command.

A line editor (prompt-toolkit: history file, multi-line input, completion, a live risk toolbar)
sits in front of one persistent, real, interactive bash.  Each complete command text is
classified before the inner bash sees it; dangerous ones go to the approver as in ``-c`` mode;
a refused text never reaches bash and the session goes on.

The inner bash is ``bash -i`` reading its commands from a pipe that only guardsh writes to, with
the real terminal as its stdin, stdout and stderr.  So ``cd``, ``export``, functions, aliases,
``$?``, job control and Ctrl-C are bash's own, and full-screen programs (vim, less, top, ssh,
``kubectl exec -it``) get the terminal itself: keystrokes, screen and window-size changes pass
untouched, with no relay in between.  After each command a hook line (builtins only) reports
``$?``, the expanded ``PS1``/``PS2``, ``$PWD`` and the exported variables on a second pipe; the
front end takes the terminal's foreground back only then, and gives it to bash before sending
the next command.

The start-up files a real interactive bash reads (``/etc/bash.bashrc`` and ``~/.bashrc``, or
``--rcfile FILE``; the profiles for a login shell; none with ``--norc``/``--noprofile``) are
classified like any line and sourced in the inner bash before the first prompt (shell/startup.py).

Known differences from a bash at a prompt: the inner bash traps SIGINT (``trap -p`` shows it),
so Ctrl-C kills the running command but the rest of a ``;`` list goes on; the inner bash's own
history is off (the editor keeps the history file); in POSIX mode (``sh``) ``$ENV`` is not read.

Without a usable terminal type (``TERM=dumb`` or unset, or ``GUARDSH_SESSION=plain``) the front
end is a plain line reader that prints the prompt bash would print: programs that drive a shell
over a PTY (send a line, read until the prompt, ``echo $?``) see what a plain bash shows them.
"""
from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
from typing import Any, Iterator

from guardsh import paths
from guardsh.audit import trail
from guardsh.engine.config import Config, ConfigError, load_config
from guardsh.engine.model import Decision, Risk

EXIT_REFUSED = 126
END = b"\x1e"
SEP = b"\x1f"
STATUS_FD = 200
SCRIPT_FD = 201


def _session_environ(env: dict[str, str]) -> None:
    """In the child, before bash is exec'd: its environment, with the token that names it (pid,
    start time) as the bash whose every line this session classifies.  A tool shim started by
    that bash (through bash only) trusts it, as it trusts a bash that ``guardsh -c`` exec'd."""
    from guardsh.procs import NEST_VAR, session_token

    os.environ.clear()
    os.environ.update(env)
    token = session_token()
    if token:
        os.environ[NEST_VAR] = token


class InnerBash:
    """One persistent interactive bash that reads commands from our pipe."""

    def __init__(self, bash: str, env: dict[str, str]) -> None:
        script_r, self.script_w = os.pipe()
        self.status_r, status_w = os.pipe()
        os.dup2(script_r, SCRIPT_FD)
        os.dup2(status_w, STATUS_FD)
        os.close(script_r)
        os.close(status_w)
        env = dict(env)
        env.pop("PROMPT_COMMAND", None)
        self.proc = subprocess.Popen(
            [bash, "--norc", "--noprofile", "-i", f"/dev/fd/{SCRIPT_FD}"],
            pass_fds=(SCRIPT_FD, STATUS_FD), env=None, preexec_fn=lambda: _session_environ(env), close_fds=True,
        )
        # we hand the terminal's foreground to bash and back: never stop on it (bash, started
        # above, keeps the default dispositions)
        for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP):
            signal.signal(sig, signal.SIG_IGN)
        os.close(SCRIPT_FD)
        os.close(STATUS_FD)
        self.status = 0
        self.ps1 = "$ "
        self.ps2 = "> "
        self.pwd = os.getcwd()
        self.env: dict[str, str] = dict(env)
        # the shell's own definitions after the last line, as bash prints them: every variable,
        # function and alias, and whether aliases expand (the engine reads them as shell code)
        self.definitions = ""
        self.exited: int | None = None
        self._buf = b""
        # __guardsh_ret restores $? after the hook; history is ours (the hook lines must not show
        # in bash's).  SIGINT is trapped: bash reading commands from a pipe exits when Ctrl-C
        # kills a command inside a list, unless SIGINT is trapped (then the list goes on).
        self.send_raw(
            "set +o history; __guardsh_ret() { builtin unset __guardsh_rc; builtin return \"$1\"; }; "
            f"BASH_ARGV0=bash 2>/dev/null; builtin unset HISTFILE; builtin trap : INT; exec {SCRIPT_FD}<&-"
        )

    def hook(self) -> str:
        return (f"__guardsh_rc=$?; {{ builtin printf '%s\\037%s\\037%s\\037%s\\037' \"$__guardsh_rc\" \"${{PS1@P}}\" "
                f"\"${{PS2@P}}\" \"$PWD\"; builtin declare -px; builtin printf '\\037'; builtin declare -p; "
                "builtin declare -f; builtin alias -p; builtin shopt -p expand_aliases; "
                f"builtin printf '\\036'; }} >&{STATUS_FD} 2>/dev/null; __guardsh_ret \"$__guardsh_rc\"")

    def send_raw(self, text: str) -> bool:
        """Send ``text`` and the hook; wait until bash has run both.  False when bash is gone."""
        data = (text + "\n" + self.hook() + "\n").encode("utf-8", "surrogateescape")
        self.give_terminal(self.proc.pid)
        # while bash runs the text, Ctrl-C is for its foreground job (bash's own, as in bash)
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            try:
                view = memoryview(data)
                while view:
                    n = os.write(self.script_w, view)
                    view = view[n:]
            except BrokenPipeError:
                return self._gone()
            while END not in self._buf:
                # a background job may hold the status pipe open after bash exits: look at bash too
                ready, _, _ = select.select([self.status_r], [], [], 0.5)
                if not ready:
                    if self.proc.poll() is not None:
                        return self._gone()
                    continue
                try:
                    chunk = os.read(self.status_r, 65536)
                except InterruptedError:
                    continue
                if not chunk:
                    return self._gone()
                self._buf += chunk
        finally:
            signal.signal(signal.SIGINT, old)
        record, self._buf = self._buf.split(END, 1)
        self.take_terminal()
        parts = record.split(SEP, 5)
        if len(parts) == 6:
            try:
                self.status = int(parts[0])
            except ValueError:
                pass
            dec = [p.decode("utf-8", "surrogateescape") for p in parts]
            self.ps1, self.ps2, self.pwd = _visible(dec[1]), _visible(dec[2]), dec[3]
            self.env = _parse_declare(dec[4]) or self.env
            self.definitions = dec[5]
            try:
                os.chdir(self.pwd)
            except OSError:
                pass
        return True

    def _gone(self) -> bool:
        self.take_terminal()
        self.exited = self.proc.wait()
        return False

    def close(self) -> int:
        if self.exited is None:
            try:
                os.close(self.script_w)  # EOF: bash exits with the last status, as at Ctrl-D
            except OSError:
                pass
            self.exited = self.proc.wait()
            self.take_terminal()
        return self.exited

    # --- the terminal's foreground: bash's while it runs, ours while we read a line ----------

    def give_terminal(self, pid: int) -> None:
        try:
            os.tcsetpgrp(0, os.getpgid(pid))
        except OSError:
            pass

    def take_terminal(self) -> None:
        try:
            os.tcsetpgrp(0, os.getpgrp())
        except OSError:
            pass


def _visible(prompt: str) -> str:
    return prompt.replace("\001", "").replace("\002", "")


def _parse_declare(text: str) -> dict[str, str]:
    """Exported variables from ``declare -px`` (values bash quotes with $'...' are skipped)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("declare -"):
            continue
        try:
            words = shlex.split(line, posix=True)
        except ValueError:
            continue
        if len(words) >= 3 and "=" in words[2]:
            name, value = words[2].split("=", 1)
            env[name] = value
    return env


# --- is the text a complete command? ------------------------------------------------------

def is_complete(text: str, bash: str) -> bool:
    """Would bash run ``text`` as it is, or wait for more lines (open quote, here-doc, if ...)?"""
    stripped = text.rstrip("\n")
    if not stripped.strip():
        return True
    tail = len(stripped) - len(stripped.rstrip("\\"))
    if tail % 2 == 1:
        return False  # a trailing backslash continues the line
    r = subprocess.run([bash, "--norc", "--noprofile", "-n", "-O", "extglob", "-c", text],
                       capture_output=True, env={"PATH": os.environ.get("PATH", os.defpath)})
    err = r.stderr
    if b"unexpected end of file" in err or b"unexpected EOF" in err or b"delimited by end-of-file" in err:
        return False
    return True


# --- the session -----------------------------------------------------------------------------

class Session:
    def __init__(self, bash: str, config: Config, config_error: str | None, startup: list[str] | None = None) -> None:
        self.bash_path = bash
        self.config = config
        self.config_error = config_error
        self.inner = InnerBash(bash, dict(os.environ))
        self._risk_cache: dict[str, str] = {}
        self._state: tuple[str, str, object] | None = None  # (cwd, definitions, the state they make)
        self.baseline_env = dict(self.inner.env)
        if startup:
            self.run_startup(startup)
        # the environment the session starts with (inherited, and what the start-up files
        # exported): the user's, like the environment of a guardsh -c.  A loader variable in it
        # (LESSOPEN, PAGER, ...) is not this session's text; one a later line sets or changes is.
        self.baseline_env = dict(self.inner.env)

    def run_startup(self, files: list[str]) -> None:
        """Source the start-up files a real interactive bash reads (shell/startup.py), classified as
        any line is, before the first prompt.  Refused, none of them runs and the session goes on."""
        from guardsh.shell.startup import source_text

        text = source_text(files)
        try:
            allowed = self.decide(text)
        except KeyboardInterrupt:
            allowed = False
        if not allowed:
            sys.stderr.write("guardsh: the start-up files (" + ", ".join(files) + ") were not run\n")
            return
        # what the files may have changed that the session relies on: its history and SIGINT
        self.inner.send_raw(text + "\nset +o history; builtin unset HISTFILE; builtin trap : INT")

    # classification, as in -c mode, in the state the inner bash is in now
    def verdict(self, text: str):  # type: ignore[no-untyped-def]
        from guardsh.engine.classify import Classifier
        from guardsh.engine.context import Context
        from guardsh.engine.rules import RuleError, load_rules

        try:
            rules = load_rules()
        except RuleError:
            return None
        ctx = Context(self.inner.pwd, self.config, env=self.inner.env, stdin_is_tty=True)
        return Classifier(rules, self.config).classify(text, ctx, state=self.state(ctx))

    def state(self, ctx):  # type: ignore[no-untyped-def]
        """The inner bash's state: its cwd, every variable, function and alias it has now (so a
        function defined on one line is classified where a later line calls it)."""
        from guardsh.engine.walk import session_state

        key = (self.inner.pwd, self.inner.definitions)
        if self._state is None or self._state[:2] != key:
            state = session_state(ctx, self.inner.definitions)
            for name, value in self.baseline_env.items():
                if name in state.exported and state.vars.get(name) == value:
                    state.exported.discard(name)  # still in the environment (ctx.env), as for -c
            self._state = key + (state,)
        return self._state[2].copy()  # type: ignore[attr-defined]

    def risk_label(self, text: str) -> str:
        if not text.strip():
            return ""
        cached = self._risk_cache.get(text)
        if cached is None:
            try:
                v = self.verdict(text)
                cached = "rules failed to load: every command is refused" if v is None else \
                    f"{v.risk.label} -> {v.decision.label}" + (f"  ({v.matches[0].rule})" if v.matches else "")
            except Exception as e:  # the toolbar must never break the editor
                cached = f"cannot classify ({type(e).__name__})"
            if len(self._risk_cache) > 500:
                self._risk_cache.clear()
            self._risk_cache[text] = cached
        return cached

    def decide(self, text: str) -> bool:
        """True when ``text`` may reach the inner bash (allowed, or approved by a human)."""
        from guardsh.engine.report import refusal

        if self.config_error:
            sys.stderr.write(f"guardsh: the config failed to load, so every command is refused:\n{self.config_error}\n")
            self._audit_refused(text, None, "the config failed to load")
            return False
        verdict = self.verdict(text)
        if verdict is None:
            sys.stderr.write("guardsh: the rules failed to load, so every command is refused (guardsh rules test)\n")
            self._audit_refused(text, None, "the rules failed to load")
            return False
        protection = None  # issue 14: what the line destroys is saved first
        if verdict.decision != Decision.DENY and self.config.undo.get("enabled", True):
            from guardsh.engine.undoplan import may_destroy

            if may_destroy(verdict):
                from guardsh.undo.guard import protect

                protection = protect(verdict, self.config, self.inner.pwd)
                verdict = protection.verdict
        if verdict.decision == Decision.ALLOW and not (
                verdict.risk == Risk.CATASTROPHIC and self.config.catastrophic_two_approvers):
            try:
                trail.record_invocation(text, verdict, "exec", self.config,
                                        snapshot=protection.snapshot if protection else None)
            except Exception as e:
                if verdict.risk >= Risk.DESTRUCTIVE:
                    sys.stderr.write(f"guardsh: refused: {e}; destructive commands do not run while the audit "
                                     "trail cannot be written. Nothing was run.\n")
                    return False
                sys.stderr.write(f"guardsh: warning: {e}; the command runs but is missing from the audit trail\n")
            return True
        if verdict.decision == Decision.ASK or verdict.risk == Risk.CATASTROPHIC and self.config.catastrophic_two_approvers:
            return self._approve(text, verdict, protection)
        self._audit_refused(text, verdict, None)
        sys.stderr.write(refusal(verdict))
        return False

    def _approve(self, text: str, verdict, protection=None) -> bool:  # type: ignore[no-untyped-def]
        """Ask the approver in a child process: Ctrl-C withdraws the request (the child dies of
        it, as ``guardsh -c`` does) and the session goes on."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                from guardsh.approval.request import request_approval

                def before_run(approver: str, preview: list[str] | None = None) -> str | None:
                    from guardsh.undo.guard import after_approval

                    sid = after_approval(protection, self.config) if protection is not None else None
                    trail.record_invocation(text, verdict, "exec", self.config, approval="approved", approver=approver,
                                            snapshot=sid, preview=preview)
                    return sid

                approval = request_approval(verdict, self.config, before_run, env=self.inner.env)
                if approval.approved:
                    code = 0
                else:
                    try:
                        trail.record_invocation(text, verdict, "refused", self.config, exit_status=EXIT_REFUSED,
                                                approval=approval.state, approver=approval.by or None,
                                                preview=approval.preview)
                    except Exception as e:
                        sys.stderr.write(f"guardsh: warning: {e}; this refusal is missing from the audit trail\n")
            finally:
                sys.stderr.flush()
                os._exit(code)
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while True:
                try:
                    _, status = os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            signal.signal(signal.SIGINT, old)
        if os.WIFSIGNALED(status):
            sys.stderr.write("\nguardsh: the request was withdrawn; nothing was run\n")
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    def _audit_refused(self, text: str, verdict, error: str | None) -> None:  # type: ignore[no-untyped-def]
        try:
            trail.record_invocation(text, verdict, "refused", self.config, exit_status=EXIT_REFUSED, error=error,
                                    decision=None if verdict is not None else Decision.ASK.label,
                                    approval="unavailable" if verdict is None else None)
        except Exception as e:
            sys.stderr.write(f"guardsh: warning: {e}; this refusal is missing from the audit trail\n")

    def run_text(self, text: str) -> bool:
        """Classify and run one complete text; False when the inner bash has exited."""
        if not text.strip():
            return True
        try:
            allowed = self.decide(text)
        except KeyboardInterrupt:  # Ctrl-C while guardsh classifies: the text is dropped
            sys.stderr.write("\n")
            return self.inner.send_raw("__guardsh_ret 130")
        if not allowed:
            # bash's $? becomes 126, as for a refused guardsh -c; nothing of the text ran
            return self.inner.send_raw("__guardsh_ret 126")
        return self.inner.send_raw(text)

    # --- front ends --------------------------------------------------------------------------

    def lines_plain(self) -> Iterator[str | None]:
        """Read complete texts from the terminal as a line discipline delivers them."""
        while True:
            text = ""
            prompt = self.inner.ps1
            while True:
                try:
                    sys.stdout.write(prompt)
                    sys.stdout.flush()
                    line = _read_line(0)
                    if line is None:
                        if text:
                            yield text
                        return
                    text += line
                    if is_complete(text, self.bash_path):
                        break
                    prompt = self.inner.ps2
                except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the text, $? is 130, as in bash
                    sys.stdout.write("\n")
                    if not self.inner.send_raw("__guardsh_ret 130"):
                        return
                    text, prompt = "", self.inner.ps1
            yield text.rstrip("\n")

    def run_plain(self) -> int:
        for text in self.lines_plain():
            if text is None:
                break
            if not self.run_text(text):
                return self.inner.exited or 0
        return self.inner.close()

    def run_editor(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.formatted_text import ANSI
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("enter")
        def _enter(event: Any) -> None:
            buf = event.current_buffer
            if buf.complete_state:
                buf.complete_state = None
            if is_complete(buf.text, self.bash_path):
                buf.validate_and_handle()
            else:
                buf.insert_text("\n")

        history = FileHistory(_history_path())
        session: PromptSession[str] = PromptSession(
            history=history, multiline=True, key_bindings=bindings, completer=ShellCompleter(self),
            complete_while_typing=False, enable_history_search=True,
            prompt_continuation=lambda width, line, wrap: ANSI(self.inner.ps2),
            bottom_toolbar=lambda: self._toolbar(session.default_buffer.text),
        )
        while True:
            try:
                text = session.prompt(ANSI(self.inner.ps1))
            except KeyboardInterrupt:  # Ctrl-C: drop the line, new prompt; $? is 130 as in bash
                self.inner.send_raw("__guardsh_ret 130")
                continue
            except EOFError:  # Ctrl-D on an empty line: leave, as bash does
                break
            if not self.run_text(text):
                return self.inner.exited or 0
        return self.inner.close()

    def _toolbar(self, text: str) -> str:
        label = self.risk_label(text)
        return f" guardsh: {label}" if label else " guardsh: type a command (Ctrl-D leaves)"


class ShellCompleter:
    """Commands (PATH, builtins, functions, aliases) for the first word; paths elsewhere."""

    BUILTINS = ("alias", "bg", "cd", "command", "declare", "echo", "eval", "exec", "exit", "export", "fg",
                "history", "jobs", "kill", "printf", "pushd", "popd", "pwd", "read", "set", "source", "type",
                "ulimit", "umask", "unalias", "unset", "wait")

    def __new__(cls, session: Session):  # type: ignore[no-untyped-def]
        from prompt_toolkit.completion import Completer, Completion, PathCompleter
        from prompt_toolkit.document import Document

        paths = PathCompleter(expanduser=True)

        class _Completer(Completer):  # type: ignore[misc]
            def get_completions(self, document: Document, event: Any) -> Iterator[Completion]:
                before = document.text_before_cursor
                line = before.rsplit("\n", 1)[-1]
                word = line.split(" ")[-1] if line else ""
                first = not line[: len(line) - len(word)].strip() or line[: len(line) - len(word)].rstrip()[-1:] in "|;&("
                if first and "/" not in word:
                    seen = set()
                    for name in sorted(_commands(session.inner.env.get("PATH", ""), cls.BUILTINS)):
                        if name.startswith(word) and name not in seen:
                            seen.add(name)
                            yield Completion(name, start_position=-len(word))
                    return
                yield from paths.get_completions(Document(word, len(word)), event)

        return _Completer()


def _commands(path: str, builtins: tuple[str, ...]) -> set[str]:
    names = set(builtins)
    for d in path.split(":"):
        try:
            for entry in os.scandir(d or "."):
                if entry.is_file() and os.access(entry.path, os.X_OK):
                    names.add(entry.name)
        except OSError:
            continue
    return names


def _history_path() -> str:
    path = paths.history_file()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    return path


def _read_line(fd: int) -> str | None:
    """One line from the terminal (canonical mode), undecoded bytes kept; None at EOF."""
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = os.read(fd, 1)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            return data.decode("utf-8", "surrogateescape") if data else None
        data += chunk
    return data.decode("utf-8", "surrogateescape")


def plain_terminal() -> bool:
    term = os.environ.get("TERM", "")
    return os.environ.get("GUARDSH_SESSION") == "plain" or term in ("", "dumb")


def run_session(bash: str, startup: list[str] | None = None) -> int:
    """Entry point from shell.py: stdin is a terminal and there is no command.  ``startup``: the
    files a real interactive bash would read first (shell/startup.py)."""
    try:
        config, config_error = load_config(), None
    except ConfigError as e:
        config, config_error = Config(), str(e)
    session = Session(bash, config, config_error, startup)
    if plain_terminal():
        return session.run_plain()
    return session.run_editor()
