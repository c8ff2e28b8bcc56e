"""``git NAME`` where NAME is an alias: what it runs.

git looks an alias up after its own commands (an alias cannot hide ``git push``), in this order of
precedence, the last setting winning: the system, global and repository config files, then
``GIT_CONFIG_PARAMETERS`` / ``GIT_CONFIG_COUNT`` + ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` in
the environment, then ``-c alias.NAME=...`` on the command line.  A ``git config alias.NAME VALUE``
earlier in the same command counts too (``State.git_aliases``).  A value starting with ``!`` is
shell code that git runs with ``sh -c``; anything else is a git command line.

A config file that cannot be read is not known: an unknown NAME then stays an unknown git
subcommand (the rules' git default applies); NAME that no readable config defines is not an alias.
"""
from __future__ import annotations

import os

from guardsh import paths
from guardsh.engine.expansion import Expansion, Reader, expand_one, inner_text, join_words
from guardsh.engine.model import Command, Word
from guardsh.engine.state import UNKNOWN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from guardsh.engine.state import State

MAX_ALIAS_DEPTH = 8
MAX_CONFIG = 256 * 1024
# git's own commands (git help -a, 2.39): an alias of the same name is never used
GIT_COMMANDS = frozenset("""
add am annotate apply archimport archive bisect blame branch bugreport bundle cat-file check-attr
check-ignore check-mailmap check-ref-format checkout checkout-index cherry cherry-pick citool clean
clone column commit commit-graph commit-tree config count-objects credential credential-cache
credential-store cvsexportcommit cvsimport cvsserver daemon describe diagnose diff diff-files
diff-index diff-tree difftool fast-export fast-import fetch fetch-pack filter-branch fmt-merge-msg
for-each-ref for-each-repo format-patch fsck fsck-objects gc get-tar-commit-id grep gui hash-object
help hook http-backend imap-send index-pack init init-db instaweb interpret-trailers log ls-files
ls-remote ls-tree mailinfo mailsplit maintenance merge merge-base merge-file merge-index
merge-one-file merge-tree mergetool mktag mktree multi-pack-index mv name-rev notes p4 pack-objects
pack-redundant pack-refs patch-id prune prune-packed pull push quiltimport range-diff read-tree
rebase receive-pack reflog remote repack replace request-pull rerere reset restore rev-list
rev-parse revert rm scalar send-email send-pack shortlog show show-branch show-index show-ref
sparse-checkout stage stash status stripspace submodule svn switch symbolic-ref tag unpack-file
unpack-objects update-index update-ref update-server-info upload-archive upload-pack var
verify-commit verify-pack verify-tag version whatchanged worktree write-tree
""".split())


def alias_of(name: str, cmd: Command, reader: Reader, state: State | None, options: list[str]) -> Any:
    """The value of ``alias.NAME`` for this command: str, None (no such alias) or UNKNOWN."""
    if name in GIT_COMMANDS:
        return None
    key = "alias." + name.lower()
    found: Any = None
    for path in _config_files(cmd, reader, state, options):
        value = _read_config_value(path, key, reader)
        if value is UNKNOWN:
            found = UNKNOWN if found is None else found
        elif value is not None:
            found = value
    if state is not None and name.lower() in state.git_aliases:
        found = state.git_aliases[name.lower()]
    for value in _env_values(cmd, state, key):
        found = value
    for opt in options:
        k, eq, v = opt.partition("=")
        if k.lower() == key:
            found = v if eq else "true"
    return found


def expand_alias(cmd: Command, sub_index: int, reader: Reader, out: Expansion, depth: int) -> None:
    """Classify what ``git ALIAS ARGS`` runs, in place of the git command itself."""
    words = cmd.words
    name = words[sub_index].value
    if words[sub_index].dynamic or depth > MAX_ALIAS_DEPTH:
        return
    options = [words[k + 1].value for k in range(1, sub_index - 1) if words[k].value == "-c"]
    options += [w.value[2:] for w in words[1:sub_index] if w.value.startswith("-c") and len(w.value) > 2]
    value = alias_of(name, cmd, reader, out.state, options)
    if value is None:
        return
    if value is UNKNOWN:
        out.problem(f"git {name}: an alias guardsh cannot read (set at run time)", cmd)
        out.worsen("opaque")
        return
    args = words[sub_index + 1:]
    if out.commands and out.commands[-1] is cmd:
        out.commands.pop()  # `git ALIAS` is what the alias runs, not a git subcommand of its own
    if value.startswith("!"):
        # git runs: sh -c '<value> "$@"' <value> ARGS...
        params = {"0": value[1:], "#": str(len(args))}
        for k, w in enumerate(args, 1):
            params[str(k)] = w.value
        text = value[1:] + (' "$@"' if args else "")
        if any(w.dynamic for w in args):
            inner_text(cmd.replace(redirects=()), text, f"git alias {name}", out, reader, depth, None)
        else:
            inner_text(cmd.replace(redirects=()), text, f"git alias {name}", out, reader, depth, params)
        return
    try:
        import shlex  # imports re and enum (~4 ms): only when an alias is read

        expansion = shlex.split(value)
    except ValueError:
        out.problem(f"git {name}: an alias guardsh cannot read ({value!r})", cmd)
        out.worsen("opaque")
        return
    if not expansion:
        return
    new_words = words[:sub_index] + tuple(Word(v) for v in expansion) + args
    inner = cmd.replace(words=new_words, text=join_words(new_words), via=cmd.via + (f"git alias {name}",))
    expand_one(inner, reader, out, depth + 1)


# --- where git's config comes from ---------------------------------------------------------------

def _config_files(cmd: Command, reader: Reader, state: State | None, options: list[str]) -> list[str]:
    env = _env(cmd, state)
    files: list[str] = []
    if env.get("GIT_CONFIG_NOSYSTEM", "") in ("", "0", "false"):
        files.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    home = env.get("HOME") or (state.home if state is not None else "") or reader.home
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(env["GIT_CONFIG_GLOBAL"])
    elif home:
        files.append(os.path.join(paths.xdg_config_home({**env, "HOME": home}), "git", "config"))
        files.append(os.path.join(home, ".gitconfig"))
    gitdir = _git_dir(cmd, env)
    if gitdir is not None:
        files.append(os.path.join(gitdir, "config"))
    return files


def _env(cmd: Command, state: State | None) -> dict[str, str]:
    env: dict[str, str] = {}
    if state is not None:
        for k, v in state.env.items():
            env[k] = v
        for k, v in state.vars.items():
            if k in state.exported and isinstance(v, str):
                env[k] = v
    for k, w in cmd.assignments:
        if not w.dynamic:
            env[k] = w.value
    return env


def _env_values(cmd: Command, state: State | None, key: str) -> list[Any]:
    env = _env(cmd, state)
    found: list[Any] = []
    params = env.get("GIT_CONFIG_PARAMETERS")
    if params:
        import shlex

        try:
            for item in shlex.split(params):
                k, eq, v = item.partition("=")
                if k.lower() == key:
                    found.append(v if eq else "true")
        except ValueError:
            found.append(UNKNOWN)
    count = env.get("GIT_CONFIG_COUNT")
    if count and count.isdigit():
        for n in range(int(count)):
            if env.get(f"GIT_CONFIG_KEY_{n}", "").lower() == key:
                found.append(env.get(f"GIT_CONFIG_VALUE_{n}", ""))
    return found


def _git_dir(cmd: Command, env: dict[str, str]) -> str | None:
    words = [w.value for w in cmd.words]
    cwd = cmd.cwd
    for k, v in enumerate(words[1:], 1):
        if v == "-C" and k + 1 < len(words) and cwd is not None:
            cwd = os.path.normpath(os.path.join(cwd, words[k + 1]))
        elif v == "--git-dir" and k + 1 < len(words):
            return os.path.join(cwd or "/", words[k + 1])
        elif v.startswith("--git-dir="):
            return os.path.join(cwd or "/", v.partition("=")[2])
    if env.get("GIT_DIR"):
        return os.path.join(cwd or "/", env["GIT_DIR"])
    if cwd is None:
        return None
    path = cwd
    while True:
        dot = os.path.join(path, ".git")
        if os.path.isdir(dot):
            return dot
        if os.path.isfile(dot):
            try:
                with open(dot, encoding="utf-8", errors="replace") as f:
                    line = f.read(4096).strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                gitdir = os.path.join(path, line[7:].strip())
                common = os.path.join(gitdir, "commondir")
                try:
                    with open(common, encoding="utf-8", errors="replace") as f:
                        return os.path.normpath(os.path.join(gitdir, f.read().strip()))
                except OSError:
                    return gitdir
            return None
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _read_config_value(path: str, key: str, reader: Reader, depth: int = 0) -> Any:
    """The last value of ``key`` (section.name, lower case) in a git config file and the files it
    includes; None when the file does not set it (or does not exist), UNKNOWN when unreadable."""
    if not reader.read_files:
        return None  # (the fixed example context reads no file: no alias is known there)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG + 1)
    except FileNotFoundError:
        return None
    except OSError:
        return UNKNOWN
    if len(data) > MAX_CONFIG:
        return UNKNOWN
    found: Any = None
    for k, v in parse_config(data.decode("utf-8", errors="replace")):
        if k == key:
            found = v
        elif k == "include.path" and depth < 5:
            included = os.path.join(os.path.dirname(path), os.path.expanduser(v))
            value = _read_config_value(included, key, reader, depth + 1)
            if value is not None:
                found = value
    return found


def parse_config(text: str) -> list[tuple[str, str]]:
    """(section.key, value) pairs of a git config file, in order (section and key in lower case;
    a subsection keeps its case: ``remote.origin.url``)."""
    pairs: list[tuple[str, str]] = []
    section = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                continue
            head = line[1:end].strip()
            name, _, sub = head.partition(" ")
            sub = sub.strip()
            if sub.startswith('"') and sub.endswith('"'):
                sub = sub[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            section = name.lower() + ("." + sub if sub else "")
            line = line[end + 1 :].strip()
            if not line or line[0] in "#;":
                continue
        name, eq, raw = line.partition("=")
        value = _config_value(raw.strip()) if eq else "true"
        pairs.append((f"{section}.{name.strip().lower()}", value))
    return pairs


def _config_value(raw: str) -> str:
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == '"':
            quoted = not quoted
        elif c == "\\" and i + 1 < len(raw):
            out.append({"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}.get(raw[i + 1], raw[i + 1]))
            i += 1
        elif c in "#;" and not quoted:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).rstrip() if not quoted else "".join(out)
