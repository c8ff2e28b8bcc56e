"""Issue 13 §1: programs that run other programs, read from the runner table (rules.d/runners.yaml),
the environment variables that load code (env_loaders), and the tail of an unknown program.

Each case is a command and the decision it must get in the example context (cwd
/home/user/project): what the runner runs is classified as if it were run directly."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.examples import example_context
from guardsh.engine.model import Decision, Verdict
from guardsh.engine.rules import load_rules, rule_dirs
from guardsh.engine.yamlfile import RuleError

ALLOW, ASK, DENY = Decision.ALLOW, Decision.ASK, Decision.DENY

RUNS_A_COMMAND = [
    ("strace -f rm -rf /", DENY),
    ("strace -o /etc/passwd ls", ASK),            # -o overwrites its file
    ("strace -f -o trace.txt ls -la", ALLOW),
    ("perf record -g -- rm -rf /var/lib/mysql", ASK),
    ("gdb --batch -ex run --args rm -rf src", ASK),
    ("firejail --net=none rm -rf ~/Documents", ASK),
    ("chronic rm -rf src", ASK),
    ("busybox rm -rf /etc", DENY),
    ("nsenter -t 1 -m rm -rf /etc", DENY),
    ("sudo ip netns exec blue ip link set eth0 down", ASK),
    ("systemd-run --unit=x rm -rf /var/lib/foo", ASK),
    ("aws-vault exec prod -- terraform destroy", ASK),
    ("dotenv -e .env -- rm -rf src", ASK),
    ("op run --env-file .env -- terraform destroy -auto-approve", DENY),
    ("doppler run -- rm -rf src", ASK),
    ("pnpm dlx vercel rm proj --yes", ASK),
    ("bunx vercel rm proj --yes", ASK),
    ("pipx run --spec x rm -rf src", ASK),
    ("uvx ruff check .", ALLOW),
    ("docker run --rm -v \"$PWD\":/src alpine rm -rf /src", ASK),
    ("docker compose run --rm web rm -rf /app", ASK),
    ("podman run -it --name x ubuntu bash -c 'rm -rf /data'", ASK),
    ("docker run --rm alpine echo hi", ALLOW),
    ("heroku run -a app rm -rf /app/storage", ASK),
    ("heroku run rm -rf /app/storage -a app", ASK),   # heroku reads its flags anywhere
    ("heroku run bash -a app", ALLOW),
    ("docker run -it ubuntu bash", ALLOW),
]

RUNS_A_STRING = [
    ("script -q -c 'rm -rf src' /dev/null", ASK),
    ("sg docker -c 'rm -rf src'", ASK),
    ("sg docker 'docker system prune -af'", ASK),
    ("doppler run --command 'rm -rf src'", ASK),
    ("fly ssh console -a app -C 'rm -rf /data'", ASK),
    ("tmux new -d -s work 'rm -rf src'", ASK),
    ("tmux send-keys -t work 'rm -rf src' Enter", ASK),
    ("tmux new-session -d -s work", ALLOW),
    ("screen -dmS x rm -rf src", ASK),
    ("screen -S x -X stuff 'rm -rf src\\n'", ASK),
    ("echo 'rm -rf src' | at now", ASK),               # read from a pipe: cannot be seen
    ("at now <<< 'rm -rf src'", ASK),
    ("at now <<< 'echo hi'", ALLOW),
    ("expect -c 'spawn rm -rf src; expect eof'", ASK),
    ("ansible all -m shell -a 'rm -rf /tmp/x /etc/nginx'", ASK),
    ("aws ssm send-command --document-name AWS-RunShellScript --parameters 'commands=[\"rm -rf /data\"]'", ASK),
    ("ssh -o ProxyCommand='rm -rf src' host", ASK),
    ("ssh -oProxyCommand='rm -rf src' host", ASK),
    ("ssh -o ConnectTimeout=5 host uptime", ALLOW),
    ("git -c core.pager='rm -rf src' log", ASK),
    ("git -c core.sshCommand='rm -rf src' fetch", ASK),
    ("git -c core.fsmonitor='rm -rf src' status", ASK),
    ("git -c core.pager=less log", ALLOW),
    ("git difftool -x 'rm -rf src' HEAD", ASK),
    ("git grep -O'rm -rf src' foo", ASK),
    ("git clone 'ext::sh -c rm% -rf% src' x", ASK),           # ext:: runs a command; "% " is a space in a word
    ("git remote add evil 'ext::sh -c rm% -rf% ~'", DENY),
    ("git clone https://github.com/acme/web", ALLOW),
    ("tar -xf a.tar --to-command='rm -rf src'", ASK),
    ("tar -cf a.tar --checkpoint=1 --checkpoint-action=exec='rm -rf src' .", ASK),
    ("rsync -e 'rm -rf src' a host:b", ASK),
    ("rsync --rsync-path='sudo rm -rf /' a host:b", DENY),
    ("rsync -e 'ssh -p 2222' -a src/ host:dst/", ALLOW),
    ("zip x.zip file -T -TT 'rm -rf src'", ASK),
    ("man -P 'rm -rf src' ls", ASK),
    ("make --eval=$'x:\\n\\trm -rf src' x", ASK),
    ("make --eval='print-%: ; @echo $*=$($*)' print-CFLAGS", ALLOW),  # make's variables, not the shell's
]

RUNS_CODE = [
    ("awk 'BEGIN{system(\"rm -rf src\")}'", ASK),
    ("awk '{print | \"sh\"}' cmds.txt", ASK),
    ("awk '{ print $1 > \"/etc/passwd\" }' x", ASK),
    ("awk -F: '{print $1}' /etc/passwd", ALLOW),
    ("awk '{ system($0) }' cmds.txt", ASK),
    ("sed -n '1e rm -rf src' x", ASK),
    ("sed 's/x/y/e' file", ASK),
    ("sed 's/a/b/w /etc/passwd' file", ASK),
    ("sed -e 's/a/b/' -e 'w /etc/shadow' file", ASK),
    ("sed 's/foo/bar/g' file.txt", ALLOW),
    ("sed -n '/error/p' log.txt", ALLOW),
    ("vim -c '!rm -rf src' -c q", ASK),
    ("vim +'!rm -rf src' file", ASK),
    ("nvim --headless -c 'call system(\"rm -rf src\")' -c q", ASK),
    ("vim -c 'set number' file.txt", ALLOW),
    ("emacs --batch --eval '(delete-directory \"src\" t)'", ASK),
    ("emacs --batch --eval '(shell-command \"rm -rf src\")'", ASK),
    ("emacs --batch --eval '(message \"hi\")'", ALLOW),
    ("less '+!rm -rf src' file", ASK),
    ("gdb -ex 'shell rm -rf src' -batch ./a.out", ASK),
    ("find . -name '*.log' -fprint /etc/passwd", ASK),
    ("find . -name '*.log' -fprint found.txt", ALLOW),
]

ENV_LOADERS = [
    ("GIT_SSH_COMMAND='rm -rf src' git fetch", ASK),
    ("export GIT_SSH_COMMAND='rm -rf src'; git fetch", ASK),
    ("GIT_SSH_COMMAND='ssh -i key' git fetch", ALLOW),
    ("GIT_EDITOR='rm -rf src' git commit", ASK),
    ("EDITOR='rm -rf src' crontab -e", ASK),
    ("EDITOR=vim git commit", ALLOW),
    ("BASH_ENV=./x.sh bash -c true", ASK),             # x.sh cannot be read (the example context reads no file)
    ("env 'BASH_FUNC_ls%%=() { rm -rf src; }' bash -c ls", ASK),
    ("LD_PRELOAD=./evil.so ls", ASK),
    ("PROMPT_COMMAND='rm -rf src' bash -i", ASK),
    ("GIT_SSH_COMMAND='rm -rf src' ls", ALLOW),        # ls never starts ssh
]

UNKNOWN_TAIL = [
    ("foo -x rm -rf src", ASK),
    ("mytool exec -- terraform destroy -auto-approve", DENY),
    ("mytool install git", ALLOW),
    ("mytool run python script.py", ALLOW),
    # data stays data: programs with rules are never read this way
    ("echo rm -rf x", ALLOW),
    ("git commit -m 'rm -rf src'", ALLOW),
    ("grep rm file", ALLOW),
    ("printf '%s\\n' rm -rf /", ALLOW),
]

ALL = RUNS_A_COMMAND + RUNS_A_STRING + RUNS_CODE + ENV_LOADERS + UNKNOWN_TAIL


@pytest.mark.parametrize("command,expected", ALL, ids=[c[:70] for c, _ in ALL])
def test_what_a_runner_runs_is_classified(classify: Callable[[str], Verdict], command: str,
                                          expected: Decision) -> None:
    verdict = classify(command)
    assert verdict.decision == expected, (verdict.risk.label, verdict.parse, [m.rule for m in verdict.matches])


def test_a_hooks_path_written_by_the_same_command_is_read(classify_in: Callable[..., Verdict], tmp_path: Path) -> None:
    text = ("mkdir -p h && printf '#!/bin/sh\\nrm -rf ~/Documents\\n' > h/pre-commit && chmod +x h/pre-commit && "
            "git -c core.hooksPath=h commit -m x")
    verdict = classify_in(text, str(tmp_path), home=str(tmp_path / "home"))
    assert verdict.decision >= Decision.ASK, [m.rule for m in verdict.matches]


def test_a_bash_env_file_is_read(classify_in: Callable[..., Verdict], tmp_path: Path) -> None:
    (tmp_path / "env.sh").write_text("rm -rf /etc\n")
    assert classify_in("BASH_ENV=./env.sh bash -c true", str(tmp_path)).decision == Decision.DENY
    (tmp_path / "env.sh").write_text("export A=1\n")
    assert classify_in("BASH_ENV=./env.sh bash -c true", str(tmp_path)).decision == Decision.ALLOW


def _user_rules(tmp_path: Path, text: str) -> list[str]:
    user = tmp_path / "rules.d"
    user.mkdir()
    (user / "mine.yaml").write_text(textwrap.dedent(text))
    return [rule_dirs()[0], str(user)]


def test_users_extend_the_runner_table(tmp_path: Path) -> None:
    dirs = _user_rules(tmp_path, """\
        runners:
          with-lease: {value_options: [--ttl], skip: 1, run: command}
          mytask: {options: {--hook: shell}}
        env_loaders:
          MYTOOL_HOOK: {kind: shell, programs: [mytool]}
        """)
    classifier = Classifier(load_rules(dirs, use_cache=False), Config())
    ctx = example_context()
    assert classifier.classify("with-lease --ttl 5 db1 rm -rf /etc", ctx).decision == Decision.DENY
    assert classifier.classify("with-lease --ttl 5 db1 ls", ctx).decision == Decision.ALLOW
    assert classifier.classify("mytask --hook 'rm -rf src' build", ctx).decision == Decision.ASK
    assert classifier.classify("MYTOOL_HOOK='rm -rf src' mytool sync", ctx).decision == Decision.ASK


@pytest.mark.parametrize("text,message", [
    ("runners:\n  foo: {run: program}\n", "runners.foo.run"),
    ("runners:\n  foo: {skip: -1, run: command}\n", "runners.foo.skip"),
    ("runners:\n  foo: {value_options: [-x]}\n", "says nothing runs"),
    ("runners:\n  foo: {options: {x: shell}}\n", "an option starts with '-'"),
    ("runners:\n  foo: {bogus: 1, run: command}\n", "unknown key"),
    ("env_loaders:\n  FOO: {kind: magic, programs: [x]}\n", "env_loaders.FOO.kind"),
    ("runners:\n  strace: {run: command}\n", "defined twice"),
])
def test_bad_runner_entries_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    dirs = _user_rules(tmp_path, text)
    with pytest.raises(RuleError) as err:
        load_rules(dirs, use_cache=False)
    assert message in str(err.value) and "mine.yaml:" in str(err.value)


def test_a_user_runner_reads_code_files_in_its_language(tmp_path: Path) -> None:
    dirs = _user_rules(tmp_path, """\
        runners:
          myq: {value_options: [-f], options: {-f: code_file}, run: sql}
        """)
    (tmp_path / "x.sql").write_text("DROP TABLE users;\n")
    classifier = Classifier(load_rules(dirs, use_cache=False), Config())
    from guardsh.engine.context import Context
    ctx = Context(str(tmp_path), env={"HOME": "/nonexistent", "PATH": "/usr/bin"}, home="/nonexistent")
    assert classifier.classify("myq 'DROP TABLE t'", ctx).decision == Decision.ASK
    assert classifier.classify("myq -f x.sql", ctx).decision == Decision.ASK
    assert classifier.classify("myq 'SELECT 1'", ctx).decision == Decision.ALLOW
